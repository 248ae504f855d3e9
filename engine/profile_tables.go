package engine

// profileTables lists every table whose profile_id column refers to a
// person, other than profiles and consent_state (rebuilt from the ledger).
// A merge re-points these rows to the survivor; erasure deletes them (or,
// for privacy_requests, keeps the request and unlinks it: see Erase). A
// test checks the list against the schema, so a migration that adds a
// table with a profile_id column must add it here.
var profileTables = []string{ //nolint:gochecknoglobals // read-only after initialisation
	"identities",
	"events",
	"consent_ledger",
	"privacy_requests",
	"journey_instances",
	"journey_outbox",
	"journey_log",
	"journey_segment_members",
	"segment_members",
	"segment_changes",
	"segment_stage",
}

// ProfileTables returns the tables that hold rows about a person.
func ProfileTables() []string { return append([]string(nil), profileTables...) }
