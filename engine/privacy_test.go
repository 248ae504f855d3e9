package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// snapshot fingerprints every table of the database: a change anywhere
// changes it.
func snapshot(t *testing.T, s *engine.Store) map[string]string {
	t.Helper()
	rows, err := s.DB().Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_catalog = current_database() AND table_type = 'BASE TABLE' ORDER BY 1`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Close())
	out := map[string]string{}
	for _, table := range tables {
		var fp string
		require.NoError(t, s.DB().QueryRow(fmt.Sprintf(`SELECT count(*) || ':' || coalesce(md5(string_agg(CAST(x AS VARCHAR), '|' ORDER BY CAST(x AS VARCHAR))), '') FROM %q x`, table)).Scan(&fp))
		out[table] = fp
	}
	return out
}

func auditActions(t *testing.T, s *engine.Store) []string {
	t.Helper()
	log, err := s.AuditLog(context.Background(), 0, 0)
	require.NoError(t, err)
	var out []string
	for _, e := range log {
		out = append(out, e.Action)
	}
	return out
}

func lastAudit(t *testing.T, s *engine.Store) engine.AuditEntry {
	t.Helper()
	log, err := s.AuditLog(context.Background(), 0, 0)
	require.NoError(t, err)
	require.NotEmpty(t, log)
	return log[len(log)-1]
}

// TestUnknownPersonChangesNothing: every operation on an identifier nobody
// holds fails with ErrNotFound and leaves every table as it was.
func TestUnknownPersonChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := openStore(t)
	seedPeople(t, s)
	ops := map[string]func(user string) error{
		"export": func(u string) error { _, err := s.ExportPersonalData(ctx, u, engine.PrivacyOptions{}); return err },
		"rectify": func(u string) error {
			_, err := s.Rectify(ctx, u, map[string]string{"age": "42"}, engine.PrivacyOptions{})
			return err
		},
		"restrict":   func(u string) error { _, err := s.Restrict(ctx, u, engine.PrivacyOptions{}); return err },
		"unrestrict": func(u string) error { _, err := s.Unrestrict(ctx, u, engine.PrivacyOptions{}); return err },
		"object":     func(u string) error { _, err := s.Object(ctx, u, engine.PrivacyOptions{}); return err },
		"unobject":   func(u string) error { _, err := s.Unobject(ctx, u, engine.PrivacyOptions{}); return err },
		"erase":      func(u string) error { _, err := s.Erase(ctx, u, engine.EraseOptions{}); return err },
		"open request": func(u string) error {
			_, err := s.OpenRequest(ctx, engine.RequestErase, u, time.Time{}, "")
			return err
		},
	}
	before := snapshot(t, s)
	for name, op := range ops {
		for _, who := range []string{"nobody@example.com", "+66899999999", "no-such-user"} {
			err := op(who)
			require.ErrorIs(t, err, engine.ErrNotFound, "%s %s", name, who)
			require.Equal(t, "no profile matches the given identifier", err.Error(), "the error does not echo the identifier")
		}
	}
	require.Equal(t, before, snapshot(t, s))
}

func TestExportHoldsEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, _ := openStore(t)
	seedPeople(t, s)
	mustImport(t, s, engine.ImportEvents, writeFile(t, "anon.csv", "anonymous_id,event,timestamp\nanon-e-1,page,2026-09-01T00:00:00Z\n"))
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "link.csv", "email,anonymous_id\n"+erasedEmail+",anon-e-1\n"))
	id := resolve(t, s, erasedEmail)
	// Tables the segments and journeys packages will add.
	for _, ddl := range []string{
		`CREATE TABLE x_segment_memberships (segment VARCHAR, profile_id BIGINT, entered_at TIMESTAMP)`,
		`CREATE TABLE x_journey_steps (journey VARCHAR, version INT, profile_id BIGINT, step VARCHAR)`,
		`CREATE TABLE x_message_log (idempotency_key VARCHAR, profile_id BIGINT, channel VARCHAR, status VARCHAR)`,
		`CREATE TABLE loyalty_cards (card VARCHAR, profile_id BIGINT)`,
	} {
		_, err := s.DB().Exec(ddl)
		require.NoError(t, err)
	}
	for _, ins := range []string{
		`INSERT INTO x_segment_memberships VALUES ('vip', ?, TIMESTAMP '2026-10-01')`,
		`INSERT INTO x_journey_steps VALUES ('welcome', 2, ?, 'wait')`,
		`INSERT INTO x_message_log VALUES ('k1', ?, 'email', 'delivered')`,
		`INSERT INTO loyalty_cards VALUES ('card-1', ?)`,
	} {
		_, err := s.DB().Exec(ins, id)
		require.NoError(t, err)
	}
	require.NoError(t, s.Suppress(ctx, engine.KindPhone, erasedPhone, engine.SuppressStop, "sms"))
	open, err := s.OpenRequest(ctx, engine.RequestAccess, erasedUID, refNow.Add(-48*time.Hour), "dpo")
	require.NoError(t, err)
	clk.Advance(time.Hour)

	// Any identity finds the person; each export is one request and one audit entry.
	for i, who := range []string{erasedEmail, " " + strings.ToUpper(erasedEmail), erasedPhone, erasedUID, "anon-e-1"} {
		opts := engine.PrivacyOptions{Actor: "dpo"}
		if i == 0 {
			opts.RequestID = open.ID
		}
		doc, err := s.ExportPersonalData(ctx, who, opts)
		require.NoError(t, err, who)
		require.Equal(t, id, doc.Profile.ID)
		require.Equal(t, engine.AuditPrivacyExport, lastAudit(t, s).Action)
		if i == 0 {
			require.Equal(t, open.ID, doc.RequestID, "the open request is fulfilled")
		}
	}
	doc, err := s.ExportPersonalData(ctx, erasedEmail, engine.PrivacyOptions{})
	require.NoError(t, err)

	raw, err := json.Marshal(doc)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	for _, key := range []string{"schema", "generated_at", "request_id", "profile", "trait_types", "identities", "events",
		"segment_memberships", "journey_history", "messages", "other_tables", "consent_ledger", "consent_state",
		"suppressions", "merges", "requests"} {
		require.Contains(t, m, key)
	}
	require.Equal(t, engine.ExportSchema, m["schema"])
	require.Equal(t, erasedEmail, doc.Profile.Email)
	require.Equal(t, erasedNick, doc.Profile.Traits["nickname"])
	require.Equal(t, engine.TypeInt, doc.TraitTypes["age"])
	require.Len(t, doc.Identities, 4) // user_id, email, phone, anonymous_id
	require.Len(t, doc.Events, 2)
	require.Contains(t, string(doc.Events[0].Properties), erasedEventRf, "newest first")
	require.Contains(t, string(doc.Events[0].Context), erasedDevice, "the event's context is the person's data too")
	require.Contains(t, string(raw), erasedDevice)
	require.Len(t, doc.ConsentLedger, 2)
	require.Equal(t, "2026-06", doc.ConsentLedger[0].NoticeVersion)
	require.Len(t, doc.ConsentState, len(s.Policy().Purposes())*len(consent.Channels()))
	require.Len(t, doc.SegmentMemberships, 1)
	require.Equal(t, "vip", doc.SegmentMemberships[0]["segment"])
	require.Len(t, doc.JourneyHistory, 1)
	require.Len(t, doc.Messages, 1)
	require.Len(t, doc.OtherTables["loyalty_cards"], 1)
	require.Equal(t, []engine.ExportSuppression{{Kind: engine.KindPhone, Reason: engine.SuppressStop, CreatedAt: refNow}}, doc.Suppressions)
	require.Len(t, doc.Merges, 1)
	require.Len(t, doc.Requests, 6, "five earlier access requests and this one")
	for _, r := range doc.Requests {
		require.Equal(t, engine.RequestCompleted, r.Status)
	}

	// The control person's data is not in the subject's export.
	require.NotContains(t, string(raw), controlEmail)
	// A person with nothing but a profile still gets every array, empty.
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "bare.csv", "user_id\nbare-1\n"))
	bare, err := s.ExportPersonalData(ctx, "bare-1", engine.PrivacyOptions{})
	require.NoError(t, err)
	raw, err = json.Marshal(bare)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "null")
}

func TestDueAt(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	for _, c := range []struct{ received, due, why string }{
		{"2026-01-15T09:30:00Z", "2026-02-14T09:30:00Z", "31-day month: 30 days is earlier"},
		{"2026-02-10T00:00:00Z", "2026-03-10T00:00:00Z", "February: one month (28 days) is earlier"},
		{"2026-01-31T12:00:00Z", "2026-02-28T12:00:00Z", "31 January: the month ends on 28 February, not 3 March"},
		{"2028-01-31T12:00:00Z", "2028-02-29T12:00:00Z", "leap year"},
		{"2026-01-30T00:00:00Z", "2026-02-28T00:00:00Z", "30 January clamps too"},
		{"2026-04-10T00:00:00Z", "2026-05-10T00:00:00Z", "30-day month: both agree"},
		{"2026-12-31T23:00:00Z", "2027-01-30T23:00:00Z", "year end: 30 days"},
		{"2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z", "31 March: both give 30 April"},
	} {
		require.Equal(t, at(c.due), engine.DueAt(at(c.received)), c.why)
	}
}

func TestRequestsOpenAndOverdue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, _ := openStore(t)
	seedPeople(t, s)
	old, err := s.OpenRequest(ctx, engine.RequestErase, erasedEmail, refNow.AddDate(0, 0, -40), "dpo")
	require.NoError(t, err)
	fresh, err := s.OpenRequest(ctx, engine.RequestAccess, controlPhone, time.Time{}, "dpo")
	require.NoError(t, err)
	_, err = s.OpenRequest(ctx, engine.RequestAccess, controlPhone, refNow.Add(time.Hour), "dpo")
	require.ErrorContains(t, err, "future")
	_, err = s.OpenRequest(ctx, "delete-everything", controlPhone, time.Time{}, "dpo")
	require.ErrorContains(t, err, "unknown request kind")

	open, err := s.Requests(ctx, engine.RequestFilter{})
	require.NoError(t, err)
	require.Len(t, open, 2)
	require.Equal(t, old.ID, open[0].ID, "oldest due first")
	require.True(t, open[0].Overdue)
	require.False(t, open[1].Overdue)
	overdue, err := s.Requests(ctx, engine.RequestFilter{OverdueOnly: true})
	require.NoError(t, err)
	require.Len(t, overdue, 1)
	require.Equal(t, old.ID, overdue[0].ID)

	// Fulfilling: the wrong kind or person is refused; the right one closes it.
	_, err = s.ExportPersonalData(ctx, erasedEmail, engine.PrivacyOptions{RequestID: old.ID})
	require.ErrorContains(t, err, "erase request")
	_, err = s.ExportPersonalData(ctx, erasedEmail, engine.PrivacyOptions{RequestID: fresh.ID})
	require.ErrorContains(t, err, "another person")
	clk.Advance(time.Minute)
	_, err = s.ExportPersonalData(ctx, controlEmail, engine.PrivacyOptions{RequestID: fresh.ID})
	require.NoError(t, err)
	_, err = s.ExportPersonalData(ctx, controlEmail, engine.PrivacyOptions{RequestID: fresh.ID})
	require.ErrorContains(t, err, "already completed")
	open, err = s.Requests(ctx, engine.RequestFilter{})
	require.NoError(t, err)
	require.Len(t, open, 1)
	all, err := s.Requests(ctx, engine.RequestFilter{All: true})
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, refNow.Add(time.Minute), all[1].CompletedAt)
	require.Equal(t, "exported", all[1].Outcome)
	require.Equal(t, []string{engine.AuditRequestOpened, engine.AuditRequestOpened, engine.AuditPrivacyExport}, auditActions(t, s)[len(auditActions(t, s))-3:])
}

func TestRectify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, _ := openStore(t)
	seedPeople(t, s)
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "more.jsonl", `{"user_id":"`+erasedUID+`","tags":["a"],"vip":true,"joined_at":"2025-01-01T00:00:00Z","score":1.5}`+"\n"))
	id := resolve(t, s, erasedUID)

	for _, c := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"age": "forty"}, `trait "age" holds an integer`},
		{map[string]string{"vip": "maybe"}, `trait "vip" holds a boolean`},
		{map[string]string{"joined_at": "yesterday"}, "timestamp"},
		{map[string]string{"tags": "a,b"}, "JSON array"},
		{map[string]string{"tags": "[1,2]"}, "VARCHAR"},
		{map[string]string{"shoe_size": "42"}, "unknown trait"},
		{map[string]string{"email": "x@example.com"}, "identity"},
		{map[string]string{"timezone": "Mars/Olympus"}, "IANA"},
		{map[string]string{}, "nothing to change"},
		{map[string]string{"age": "50", "score": "high"}, `trait "score"`},
	} {
		before := snapshot(t, s)
		_, err := s.Rectify(ctx, erasedEmail, c.set, engine.PrivacyOptions{})
		require.ErrorContains(t, err, c.want, "%v", c.set)
		require.NotContains(t, err.Error(), "forty", "errors do not echo values")
		require.Equal(t, before, snapshot(t, s), "rejected rectification changed nothing: %v", c.set)
	}

	clk.Advance(time.Hour)
	res, err := s.Rectify(ctx, erasedPhone, map[string]string{
		"age": "42", "nickname": "Corrected-Nick", "vip": "false", "joined_at": "2025-02-03", "score": "7",
		"tags": `["x","y"]`, "country": "", "timezone": "Asia/Bangkok",
	}, engine.PrivacyOptions{Actor: "dpo"})
	require.NoError(t, err)
	require.Equal(t, []string{"age", "country", "joined_at", "nickname", "score", "tags", "timezone", "vip"}, res.Changed)
	p, err := s.Profile(ctx, id)
	require.NoError(t, err)
	require.Equal(t, int64(42), p.Traits["age"])
	require.Equal(t, "Corrected-Nick", p.Traits["nickname"])
	require.Equal(t, false, p.Traits["vip"])
	require.Equal(t, 7.0, p.Traits["score"])
	require.Equal(t, time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC), p.Traits["joined_at"])
	require.Equal(t, []any{"x", "y"}, p.Traits["tags"])
	require.NotContains(t, p.Traits, "country", "an empty value clears the trait")
	require.Equal(t, "Asia/Bangkok", p.Timezone)
	require.Equal(t, clk.Now(), p.UpdatedAt)

	// The audit entry names traits and hashes old values; it holds no value.
	e := lastAudit(t, s)
	require.Equal(t, engine.AuditPrivacyRectify, e.Action)
	require.Equal(t, "dpo", e.Actor)
	require.Equal(t, fmt.Sprintf("profile:%d", id), e.Subject)
	for _, v := range []string{erasedNick, "Corrected-Nick", "41", "42", "GB", "Asia/Bangkok"} {
		require.NotContains(t, string(e.Details), `"`+v+`"`)
		require.NotContains(t, string(e.Details), ":"+v)
	}
	var details struct {
		Traits []struct {
			Trait        string `json:"trait"`
			OldValueHash string `json:"old_value_hash"`
			WasMissing   bool   `json:"was_missing"`
			Cleared      bool   `json:"cleared"`
		} `json:"traits"`
	}
	require.NoError(t, json.Unmarshal(e.Details, &details))
	require.Len(t, details.Traits, 8)
	for _, tr := range details.Traits {
		switch tr.Trait {
		case "nickname":
			require.Equal(t, s.KeyedValueHash("trait:nickname", erasedNick), tr.OldValueHash, "the hash proves the old value")
		case "timezone":
			require.True(t, tr.WasMissing)
		case "country":
			require.True(t, tr.Cleared)
			require.Equal(t, s.KeyedValueHash("trait:country", "GB"), tr.OldValueHash)
		}
	}
	// Other people and tables untouched; the request is recorded.
	other, err := s.Profile(ctx, resolve(t, s, controlEmail))
	require.NoError(t, err)
	require.Equal(t, controlNick, other.Traits["nickname"])
	require.Equal(t, engine.RequestRectify, res.Request.Kind)
	require.Equal(t, engine.RequestCompleted, res.Request.Status)
}

func TestRestrictAndObject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, _ := openStore(t)
	seedPeople(t, s)
	id := resolve(t, s, erasedEmail)
	keep := resolve(t, s, controlEmail)
	flags := func(id int64) (bool, bool) {
		p, err := s.Profile(ctx, id)
		require.NoError(t, err)
		return p.Restricted, p.Objected
	}
	ledgerLen := func(id int64) int {
		l, err := s.ConsentLedger(ctx, id)
		require.NoError(t, err)
		return len(l)
	}
	eventsBefore := counts(t, s).Events

	clk.Advance(time.Hour)
	req, err := s.Restrict(ctx, erasedPhone, engine.PrivacyOptions{})
	require.NoError(t, err)
	require.Equal(t, "restricted set to true", req.Outcome)
	r, o := flags(id)
	require.True(t, r)
	require.False(t, o)
	require.Equal(t, engine.AuditPrivacyRestrict, lastAudit(t, s).Action)
	require.Equal(t, eventsBefore, counts(t, s).Events, "restriction keeps the data")
	doc, err := s.ExportPersonalData(ctx, erasedEmail, engine.PrivacyOptions{})
	require.NoError(t, err, "the person's own access request still works")
	require.True(t, doc.Profile.Restricted)

	// Restricted survives a re-import of the person's row.
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "again.csv", "email,age\n"+erasedEmail+",43\n"))
	r, _ = flags(id)
	require.True(t, r)

	req, err = s.Restrict(ctx, erasedPhone, engine.PrivacyOptions{})
	require.NoError(t, err)
	require.Equal(t, "restricted already true", req.Outcome)
	_, err = s.Unrestrict(ctx, erasedUID, engine.PrivacyOptions{})
	require.NoError(t, err)
	r, _ = flags(id)
	require.False(t, r)
	require.Equal(t, engine.AuditPrivacyUnrestrict, lastAudit(t, s).Action)

	// Objection: flag, a withdrawal for every purpose but transactional, audit.
	n := ledgerLen(id)
	clk.Advance(time.Hour)
	_, err = s.Object(ctx, erasedEmail, engine.PrivacyOptions{Actor: "the person"})
	require.NoError(t, err)
	_, o = flags(id)
	require.True(t, o)
	purposes := 0
	for _, p := range s.Policy().Purposes() {
		if p.Name != "transactional" {
			purposes++
		}
	}
	require.Equal(t, n+purposes, ledgerLen(id))
	for _, ch := range consent.Channels() {
		d, err := s.EvaluateConsent(ctx, id, "marketing", ch, clk.Now())
		require.NoError(t, err)
		require.False(t, d.Granted, ch)
		require.Equal(t, "privacy_objection", d.Entry.Source)
	}
	require.False(t, grantedBySQL(t, s, id, clk.Now()))
	e := lastAudit(t, s)
	require.Equal(t, engine.AuditPrivacyObject, e.Action)
	require.Equal(t, "the person", e.Actor)
	require.Contains(t, string(e.Details), "withdrawn_purposes")
	// Unobject clears the flag and grants nothing.
	_, err = s.Unobject(ctx, erasedEmail, engine.PrivacyOptions{})
	require.NoError(t, err)
	_, o = flags(id)
	require.False(t, o)
	require.False(t, grantedBySQL(t, s, id, clk.Now()))

	// The control person is untouched throughout.
	r, o = flags(keep)
	require.False(t, r)
	require.False(t, o)
	require.True(t, grantedBySQL(t, s, keep, clk.Now()))
	_, err = s.VerifyAudit(ctx)
	require.NoError(t, err)
}
