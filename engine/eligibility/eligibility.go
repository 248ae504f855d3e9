package eligibility

import (
	"strings"
	"time"

	"github.com/tactcdp/tact/engine/bucket"
	"github.com/tactcdp/tact/engine/consent"
)

// Reasons a person may not receive a message, in the order decided.
const (
	Restricted   = "restricted"
	Objected     = "objected"
	NoConsent    = "no_consent"
	Withdrawn    = "withdrawn"
	Expired      = "expired"
	Unreachable  = "unreachable"
	Suppressed   = "suppressed"
	QuietHours   = "quiet_hours"
	FrequencyCap = "frequency_cap"
	Holdout      = "holdout"
)

// Reasons lists every reason in the order they are decided.
func Reasons() []string {
	return []string{Restricted, Objected, NoConsent, Withdrawn, Expired, Unreachable, Suppressed, QuietHours, FrequencyCap, Holdout}
}

// Request is what is asked: may this person receive a message for Purpose
// on Channel at At?
type Request struct {
	Purpose string
	Channel string
	At      time.Time
}

// Transactional reports whether the request skips consent and send policy.
func (r Request) Transactional() bool { return r.Purpose == consent.Transactional }

// Facts is what the person-level terms need to know about one person.
type Facts struct {
	Restricted bool
	Objected   bool
	// Consent is consent.Evaluate's reason for the request (ignored for
	// transactional requests).
	Consent consent.Reason
	// Address is the person's address on the channel ("" = none; a
	// webhook needs none, see AddressKind).
	Address string
	// Suppressed says Address is on the suppression list.
	Suppressed bool
}

// Person decides the person-level terms for one person: "" when they may
// be contacted, else the first reason that applies. SQL is its set form.
func Person(r Request, f Facts) string {
	switch {
	case f.Restricted:
		return Restricted
	case !r.Transactional() && f.Objected:
		return Objected
	case !r.Transactional() && f.Consent != consent.ReasonGranted:
		return ConsentReason(f.Consent)
	case f.Address == "" && AddressKind(r.Channel) != "":
		return Unreachable
	case f.Suppressed:
		return Suppressed
	}
	return ""
}

// Profiled reports whether a person may be profiled at all (kept in saved
// segments and member lists for no stated purpose): not restricted, not
// objected. ProfilingSQL is its SQL form.
func Profiled(restricted, objected bool) bool { return !restricted && !objected }

// ProfilingSQL is Profiled over a profiles relation aliased alias (code).
func ProfilingSQL(alias string) string {
	return "NOT " + alias + ".restricted AND NOT " + alias + ".objected"
}

// ConsentReason maps a consent decision's reason to an eligibility reason.
func ConsentReason(r consent.Reason) string {
	switch r {
	case consent.ReasonGranted:
		return ""
	case consent.ReasonWithdrawn:
		return Withdrawn
	case consent.ReasonExpired:
		return Expired
	}
	return NoConsent
}

// Policy is the send policy's configuration as the decision needs it.
type Policy struct {
	// HoldoutPercent keeps bucket.Of(id, 100) < HoldoutPercent out of every
	// marketing send. Default 0: no holdout.
	HoldoutPercent int
}

// Sending is what the send policy needs to know about one person at a
// send: computed by the sender from the person's zones and send history.
type Sending struct {
	// HeldUntil is when the channel's quiet hours end in the person's
	// zones; zero or not after the request's instant: not held.
	HeldUntil time.Time
	// CapReached says the person already had the channel's daily cap of
	// marketing sends in their local day.
	CapReached bool
}

// Decision is the outcome of Decide.
type Decision struct {
	// Reason is "" when the message may go, else why not.
	Reason string
	// HoldUntil is set with Reason QuietHours: when to decide again.
	HoldUntil time.Time
}

// Allowed reports whether the message may go now.
func (d Decision) Allowed() bool { return d.Reason == "" }

// Decide is the whole decision for one send: the person-level reason
// (from Person or its SQL form), then, for marketing, quiet hours (held),
// the frequency cap and the holdout.
func Decide(r Request, pol Policy, profileID int64, person string, s Sending) Decision {
	if person != "" {
		return Decision{Reason: person}
	}
	if r.Transactional() {
		return Decision{}
	}
	switch {
	case s.HeldUntil.After(r.At):
		return Decision{Reason: QuietHours, HoldUntil: s.HeldUntil}
	case s.CapReached:
		return Decision{Reason: FrequencyCap}
	case pol.HoldoutPercent > 0 && bucket.Of(profileID, 100) < pol.HoldoutPercent:
		return Decision{Reason: Holdout}
	}
	return Decision{}
}

// channelAddresses is the one map from a channel to the identity kind
// holding a person's address on it, in channel order.
func channelAddresses() [][2]string {
	return [][2]string{{"email", "email"}, {"sms", "phone"}, {"push", "device_token"}, {"line", "line_user_id"}}
}

// AddressKind is the identity kind holding a person's address on channel:
// email → email, sms → phone, push → device_token, line → line_user_id.
// A webhook carries no address of the person (""): it is always reachable
// and never suppressed. Every other copy of this map derives from it.
func AddressKind(channel string) string {
	for _, ck := range channelAddresses() {
		if ck[0] == channel {
			return ck[1]
		}
	}
	return ""
}

// AddressKinds lists the identity kinds that are addresses on some
// channel (the kinds a suppression may name), in channel order.
func AddressKinds() []string {
	var out []string
	for _, ck := range channelAddresses() {
		out = append(out, ck[1])
	}
	return out
}

// OneAddress reports whether a person holds at most one address of kind,
// kept on the profile row (email, phone); other address kinds (device
// tokens, LINE users) may be several, of which the newest usable one is
// used (see UsableAddressSQL).
func OneAddress(kind string) bool { return kind == "email" || kind == "phone" }

// ChannelKindSQL is a SQL condition true when the identity kind in kindCol
// is the address kind of the channel in channelCol (both code, never user
// text), e.g. for lifting suppressions per consented channel.
func ChannelKindSQL(channelCol, kindCol string) string {
	var parts []string
	for _, ck := range channelAddresses() {
		parts = append(parts, "("+channelCol+" = '"+ck[0]+"' AND "+kindCol+" = '"+ck[1]+"')")
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// UsableAddressSQL is the rule that picks a person's address of a kind with
// several addresses: a relation (profile_id, usable, held) with one row
// per person in people (a table or CTE name, code) holding an address of
// the kind given as its one bind parameter; usable is the newest
// (greatest) unsuppressed address, NULL when every one is suppressed, and
// held the newest of all (what a send names when none is usable, so that
// the gate says suppressed). SQL and the journeys' outbox both read it, so
// a send goes to the address the decision was made for.
func UsableAddressSQL(people string) string {
	return `SELECT i.profile_id, max(i.value) FILTER (WHERE x.addr_hash IS NULL) AS usable, max(i.value) AS held
  FROM identities i LEFT JOIN (SELECT DISTINCT addr_hash FROM suppressions) x ON x.addr_hash = i.value_hash
  WHERE i.kind = ? AND i.profile_id IN (SELECT id FROM ` + people + `) GROUP BY i.profile_id`
}

// SQL is Person for a set of people: a query yielding one row (profile_id,
// reason, address) per row of people, reason NULL when the person may be
// contacted (before send policy) and address the one a send would use.
//
// people names a table or CTE (code, never user text) with one row per
// person and the columns id, restricted, objected, email and phone, as
// profiles has. grant is a
// consent.GrantSQL query for the request (with args), over a relation
// already narrowed to people where that matters; it is not used for
// transactional requests. Suppression looks up keyed hashes through the
// identities table, so no address is hashed in SQL.
func SQL(r Request, people string, grant string, grantArgs []any) (string, []any) {
	var args []any
	cases := []string{"WHEN p.restricted THEN 'restricted'"}
	joins := ""
	if !r.Transactional() {
		cases = append(cases, "WHEN p.objected THEN 'objected'",
			"WHEN g.reason IS DISTINCT FROM 'granted' THEN CASE g.reason WHEN 'withdrawn' THEN 'withdrawn' WHEN 'expired' THEN 'expired' ELSE 'no_consent' END")
		joins += " LEFT JOIN (" + grant + ") g ON g.profile_id = p.id"
		args = append(args, grantArgs...)
	}
	address := "NULL::VARCHAR"
	switch kind := AddressKind(r.Channel); {
	case kind == "":
		// A webhook: always reachable, never suppressed.
	case OneAddress(kind): // a column of the profile row
		address = "p." + kind
		joins += ` LEFT JOIN (SELECT DISTINCT i.profile_id, i.value FROM identities i JOIN suppressions x ON x.addr_hash = i.value_hash
  WHERE i.kind = ? AND i.profile_id IN (SELECT id FROM ` + people + `)) s ON s.profile_id = p.id AND s.value = p.` + kind
		args = append(args, kind)
		cases = append(cases, "WHEN p."+kind+" IS NULL THEN 'unreachable'", "WHEN s.profile_id IS NOT NULL THEN 'suppressed'")
	default:
		// Several addresses (device tokens, LINE users): the newest usable
		// one; suppressed when every one is.
		address = "a.usable"
		joins += ` LEFT JOIN (` + UsableAddressSQL(people) + `) a ON a.profile_id = p.id`
		args = append(args, kind)
		cases = append(cases, "WHEN a.profile_id IS NULL THEN 'unreachable'", "WHEN a.usable IS NULL THEN 'suppressed'")
	}
	q := "SELECT p.id AS profile_id, CASE " + strings.Join(cases, " ") + " END AS reason, " + address + " AS address FROM " + people + " p" + joins
	return q, args
}
