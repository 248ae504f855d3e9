package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// Distinctive identifiers: long and unique, so that a hit in the raw bytes
// of the database file cannot be a coincidence.
const (
	erasedEmail   = "erasure.subject.q7x9k2m4p8w1z5@distinctive-erased-example.test"
	erasedPhone   = "+447700900123"
	erasedNick    = "Quixotic-Erased-Nickname-Zyxw-7781"
	erasedUID     = "uid-erased-7d1c0e59a2b34f88"
	controlEmail  = "control.person.h3j6l9n2r5t8v1@distinctive-kept-example.test"
	controlPhone  = "+447700900987"
	controlNick   = "Persistent-Kept-Nickname-Abcd-4413"
	controlUID    = "uid-kept-0b9e4d2f6a1c7e33"
	erasedEventRf = "order-ref-erased-5c2e8b1f9d7a"
	erasedDevice  = "device-erased-3f8a1c6e0b2d9477"
	controlDevice = "device-kept-8e2b5d0a7c4f1139"
)

// seedPeople imports the erased subject, the control person and some
// filler, with events and consent history.
func seedPeople(t *testing.T, s *engine.Store) {
	t.Helper()
	var b strings.Builder
	b.WriteString("user_id,email,phone,nickname,age,country\n")
	fmt.Fprintf(&b, "%s,%s,%s,%s,41,GB\n", erasedUID, erasedEmail, erasedPhone, erasedNick)
	fmt.Fprintf(&b, "%s,%s,%s,%s,29,GB\n", controlUID, controlEmail, controlPhone, controlNick)
	for i := range 40 {
		fmt.Fprintf(&b, "filler-%03d,filler%03d@example.com,,nick%03d,%d,TH\n", i, i, i, 20+i%40)
	}
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", b.String()))
	mustImport(t, s, engine.ImportEvents, writeFile(t, "events.csv", fmt.Sprintf(
		"user_id,event,timestamp,properties,context\n"+
			"%s,purchase,2026-10-01T10:00:00Z,\"{\"\"ref\"\":\"\"%s\"\"}\",\"{\"\"ip\"\":\"\"198.51.100.7\"\",\"\"device\"\":{\"\"id\"\":\"\"%s\"\"}}\"\n"+
			"%s,purchase,2026-10-02T10:00:00Z,\"{\"\"ref\"\":\"\"kept\"\"}\",\"{\"\"device\"\":{\"\"id\"\":\"\"%s\"\"}}\"\n",
		erasedUID, erasedEventRf, erasedDevice, controlUID, controlDevice)))
	mustImport(t, s, engine.ImportConsents, writeFile(t, "consents.csv", fmt.Sprintf(
		"email,purpose,channel,status,timestamp,version\n%s,marketing,email,granted,2026-01-01T00:00:00Z,2026-06\n%s,marketing,sms,granted,2026-01-01T00:00:00Z,2026-06\n%s,marketing,email,granted,2026-01-01T00:00:00Z,2026-06\n",
		erasedEmail, erasedEmail, controlEmail)))
}

// scanFiles reports which needles occur in the raw bytes of the database
// file and its WAL.
func scanFiles(t *testing.T, path string, needles ...string) map[string]bool {
	t.Helper()
	found := map[string]bool{}
	for _, f := range []string{path, path + ".wal"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				found[n] = true
			}
		}
	}
	return found
}

// TestErasureLeavesNoBytesInTheFile is the byte scan of issue 4: after
// erasure and compaction the erased person's email, phone, user id, trait
// value and event payload appear nowhere in the database file or its WAL,
// while the same scan does find the person who was not erased (the
// control), and found the erased person before erasure.
func TestErasureLeavesNoBytesInTheFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, path := openStore(t)
	seedPeople(t, s)
	_, err := s.DB().Exec(`CHECKPOINT`)
	require.NoError(t, err)
	erased := []string{erasedEmail, erasedPhone, erasedNick, erasedUID, erasedEventRf, erasedDevice}
	control := []string{controlEmail, controlPhone, controlNick, controlUID, controlDevice}

	before := scanFiles(t, path, append(erased, control...)...)
	for _, n := range append(erased, control...) {
		require.True(t, before[n], "control: the scan must find %q before erasure (else compression hides it and the test proves nothing)", n)
	}

	res, err := s.Erase(ctx, erasedEmail, engine.EraseOptions{})
	require.NoError(t, err)
	require.True(t, res.Compacted)

	after := scanFiles(t, path, append(erased, control...)...)
	for _, n := range erased {
		require.False(t, after[n], "erased identifier %q still in the database file", n)
	}
	for _, n := range control {
		require.True(t, after[n], "control: the kept person's %q must still be found by the same scan", n)
	}

	// The store still works on the rewritten file, and after a restart.
	require.Equal(t, 41, counts(t, s).Profiles)
	require.NoError(t, s.Close())
	s2, err := engine.Open(ctx, path, engine.Options{Config: testConfig()})
	require.NoError(t, err)
	defer s2.Close()
	require.Equal(t, 41, counts(t, s2).Profiles)
	_, err = s2.VerifyAudit(ctx)
	require.NoError(t, err)
	after = scanFiles(t, path, erased...)
	require.Empty(t, after)
}

// TestDeleteWithoutCompactionLeavesBytes shows why Erase compacts: DuckDB
// keeps deleted values in the file after a checkpoint.
func TestDeleteWithoutCompactionLeavesBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, path := openStore(t)
	seedPeople(t, s)
	_, err := s.Erase(ctx, erasedEmail, engine.EraseOptions{NoCompact: true})
	require.NoError(t, err)
	_, err = s.DB().Exec(`FORCE CHECKPOINT`)
	require.NoError(t, err)
	left := scanFiles(t, path, erasedEmail, erasedNick)
	t.Logf("after delete + checkpoint, without compaction, the file still holds: %v", left)
	require.NoError(t, s.Compact(ctx))
	require.Empty(t, scanFiles(t, path, erasedEmail, erasedPhone, erasedNick, erasedUID, erasedEventRf, erasedDevice))
}

// tableCounts counts rows mentioning a profile in every table that can.
func profileRows(t *testing.T, s *engine.Store, id int64) map[string]int {
	t.Helper()
	out := map[string]int{}
	q := map[string]string{
		"profiles":         `SELECT count(*) FROM profiles WHERE id = ?`,
		"identities":       `SELECT count(*) FROM identities WHERE profile_id = ?`,
		"events":           `SELECT count(*) FROM events WHERE profile_id = ?`,
		"consent_ledger":   `SELECT count(*) FROM consent_ledger WHERE profile_id = ?`,
		"consent_state":    `SELECT count(*) FROM consent_state WHERE profile_id = ?`,
		"merges":           `SELECT count(*) FROM merges WHERE profile_id = ? OR other_id = ?`,
		"privacy_requests": `SELECT count(*) FROM privacy_requests WHERE profile_id = ?`,
	}
	for table, query := range q {
		var n int
		args := []any{id}
		if table == "merges" {
			args = append(args, id)
		}
		require.NoError(t, s.DB().QueryRow(query, args...).Scan(&n), table)
		out[table] = n
	}
	return out
}

func TestEraseEffectInEveryTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, _ := openStore(t)
	seedPeople(t, s)
	// A merge that names the subject, and a table a later migration might add.
	mustImport(t, s, engine.ImportEvents, writeFile(t, "anon.csv", "anonymous_id,event,timestamp\nanon-erased-1,page,2026-09-01T00:00:00Z\n"))
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "link.csv", "email,anonymous_id\n"+erasedEmail+",anon-erased-1\n"))
	_, err := s.DB().Exec(`CREATE TABLE segment_memberships (segment VARCHAR, profile_id BIGINT, entered_at TIMESTAMP)`)
	require.NoError(t, err)
	id := resolve(t, s, erasedEmail)
	keep := resolve(t, s, controlEmail)
	_, err = s.DB().Exec(`INSERT INTO segment_memberships VALUES ('vip', ?, now()), ('vip', ?, now())`, id, keep)
	require.NoError(t, err)
	_, err = s.OpenRequest(ctx, engine.RequestAccess, erasedPhone, time.Time{}, "dpo")
	require.NoError(t, err)

	rows := profileRows(t, s, id)
	for _, table := range []string{"profiles", "identities", "events", "consent_ledger", "consent_state", "merges", "privacy_requests"} {
		require.Positive(t, rows[table], "seed must put the subject in %s", table)
	}
	keptBefore := profileRows(t, s, keep)
	totalBefore := counts(t, s)

	clk.Advance(time.Hour)
	res, err := s.Erase(ctx, erasedUID, engine.EraseOptions{})
	require.NoError(t, err)
	require.Equal(t, engine.RequestCompleted, res.Request.Status)
	require.EqualValues(t, 1, res.Deleted["segment_memberships"], "a table added later is covered")
	require.EqualValues(t, 2, res.Unlinked["privacy_requests"], "the earlier request and the erase request are kept, unlinked")

	for table, n := range profileRows(t, s, id) {
		require.Zero(t, n, "erased person still in %s", table)
	}
	var n int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM segment_memberships WHERE profile_id = ?`, id).Scan(&n))
	require.Zero(t, n)
	require.Equal(t, keptBefore, profileRows(t, s, keep), "the control person is untouched")
	after := counts(t, s)
	require.Equal(t, totalBefore.Profiles-1, after.Profiles)
	require.Equal(t, totalBefore.Events-2, after.Events)

	// Kept: suppressions of email and phone, by keyed hash only.
	for _, c := range []struct{ kind, addr string }{{engine.KindEmail, erasedEmail}, {engine.KindPhone, erasedPhone}} {
		ok, reason, err := s.Suppressed(ctx, c.kind, c.addr)
		require.NoError(t, err)
		require.True(t, ok, c.kind)
		require.Equal(t, engine.SuppressErased, reason)
	}
	// Kept: de-identified tombstones: the two grants and the final withdrawal.
	tomb, err := s.DB().Query(`SELECT purpose, channel, status FROM consent_tombstones WHERE erasure_id = ? ORDER BY effective_at, channel`, res.Request.ID)
	require.NoError(t, err)
	var got []string
	for tomb.Next() {
		var p, c, st string
		require.NoError(t, tomb.Scan(&p, &c, &st))
		got = append(got, p+"/"+c+"/"+st)
	}
	require.NoError(t, tomb.Close())
	require.Equal(t, []string{"marketing/email/granted", "marketing/sms/granted", "*/*/withdrawn"}, got)
	var cols int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'consent_tombstones' AND column_name IN ('profile_id', 'actor')`).Scan(&cols))
	require.Zero(t, cols, "tombstones have no profile link and no actor")

	// The request is kept, unlinked; the audit log names the erasure.
	reqs, err := s.Requests(ctx, engine.RequestFilter{All: true})
	require.NoError(t, err)
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		require.Zero(t, r.ProfileID)
	}
	log, err := s.AuditLog(ctx, 0, 0)
	require.NoError(t, err)
	var erasures int
	for _, e := range log {
		require.NotContains(t, string(e.Details), erasedEmail)
		require.NotContains(t, string(e.Details), erasedUID)
		if e.Action == engine.AuditPrivacyErase {
			erasures++
		}
	}
	require.Equal(t, 1, erasures)
	_, err = s.VerifyAudit(ctx)
	require.NoError(t, err)

	// Erasing again: the person is unknown now.
	_, err = s.Erase(ctx, erasedEmail, engine.EraseOptions{})
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func TestEraseFailsClosedOnAnUnknownProfileColumn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := openStore(t)
	seedPeople(t, s)
	for _, c := range []struct{ ddl, drop, table string }{
		{`CREATE TABLE journey_links (survivor_profile_ref BIGINT)`, `DROP TABLE journey_links`, "journey_links"},
		{`CREATE SCHEMA side; CREATE TABLE side.notes (profile_id BIGINT, note VARCHAR)`, `DROP SCHEMA side CASCADE`, "side.notes"},
	} {
		_, err := s.DB().Exec(c.ddl)
		require.NoError(t, err)
		before := snapshot(t, s)
		_, err = s.Erase(ctx, erasedEmail, engine.EraseOptions{})
		require.ErrorContains(t, err, "erasure refused: table "+c.table)
		require.Equal(t, before, snapshot(t, s), "nothing changed")
		_, err = s.DB().Exec(c.drop)
		require.NoError(t, err)
	}
	reqs, err := s.Requests(ctx, engine.RequestFilter{All: true})
	require.NoError(t, err)
	require.Empty(t, reqs)
	_, err = s.Erase(ctx, erasedEmail, engine.EraseOptions{NoCompact: true})
	require.NoError(t, err, "with the unknown tables gone, erasure proceeds")
}

// grantedBySQL runs ConsentGrantSQL and reports the profile's decision.
func grantedBySQL(t *testing.T, s *engine.Store, id int64, at time.Time) bool {
	t.Helper()
	q, args, err := s.ConsentGrantSQL(context.Background(), "marketing", "email", at)
	require.NoError(t, err)
	var granted bool
	err = s.DB().QueryRow(`SELECT granted FROM (`+q+`) WHERE profile_id = ?`, append(args, id)...).Scan(&granted)
	if err != nil {
		return false
	}
	return granted
}

// TestReimportAfterErasureIsNotMarketable: importing the erased person's
// old CSV rows again, consent history included, yields a profile no
// marketing audience contains; a grant recorded after the erasure makes
// them reachable again.
func TestReimportAfterErasureIsNotMarketable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, _ := openStore(t)
	seedPeople(t, s)
	erasedAt := clk.Advance(24 * time.Hour)
	_, err := s.Erase(ctx, erasedEmail, engine.EraseOptions{NoCompact: true})
	require.NoError(t, err)

	clk.Advance(24 * time.Hour)
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", fmt.Sprintf("user_id,email,phone,nickname\n%s,%s,%s,%s\n", erasedUID, erasedEmail, erasedPhone, erasedNick)))
	res := mustImport(t, s, engine.ImportConsents, writeFile(t, "consents.csv", fmt.Sprintf(
		"email,purpose,channel,status,timestamp,version\n%s,marketing,email,granted,2026-01-01T00:00:00Z,2026-06\n%s,marketing,sms,granted,2026-01-01T00:00:00Z,2026-06\n",
		erasedEmail, erasedEmail)))
	require.Equal(t, 2, res.ConsentsAdded)
	id := resolve(t, s, erasedEmail)
	now := clk.Now()

	for _, ch := range []string{"email", "sms", "push"} {
		d, err := s.EvaluateConsent(ctx, id, "marketing", ch, now)
		require.NoError(t, err)
		require.False(t, d.Granted, ch)
		require.Equal(t, consent.ReasonWithdrawn, d.Reason, ch)
		require.Equal(t, "erasure", d.Entry.Source)
		require.True(t, d.Entry.EffectiveAt.Equal(erasedAt))
	}
	require.False(t, grantedBySQL(t, s, id, now), "ConsentGrantSQL agrees")
	ok, _, err := s.Suppressed(ctx, engine.KindEmail, erasedEmail)
	require.NoError(t, err)
	require.True(t, ok, "still suppressed")

	// Importing the same history again adds nothing, not even a second withdrawal.
	res = mustImport(t, s, engine.ImportConsents, writeFile(t, "consents.csv", fmt.Sprintf(
		"email,purpose,channel,status,timestamp,version\n%s,marketing,email,granted,2026-01-01T00:00:00Z,2026-06\n", erasedEmail)))
	require.Zero(t, res.ConsentsAdded)

	// A fresh grant after the erasure: granted and reachable on email again.
	clk.Advance(time.Hour)
	require.NoError(t, s.RecordConsent(ctx, engine.ConsentInput{ProfileID: id, Purpose: "marketing", Channel: "email",
		Status: consent.Granted, NoticeVersion: "2026-06", Source: "preference_centre"}))
	now = clk.Now()
	d, err := s.EvaluateConsent(ctx, id, "marketing", "email", now)
	require.NoError(t, err)
	require.True(t, d.Granted)
	require.True(t, grantedBySQL(t, s, id, now))
	ok, _, err = s.Suppressed(ctx, engine.KindEmail, erasedEmail)
	require.NoError(t, err)
	require.False(t, ok, "the erased suppression of the email is lifted by the new grant")
	ok, _, err = s.Suppressed(ctx, engine.KindPhone, erasedPhone)
	require.NoError(t, err)
	require.True(t, ok, "sms was not granted again: the phone stays suppressed")
	d, err = s.EvaluateConsent(ctx, id, "marketing", "sms", now)
	require.NoError(t, err)
	require.False(t, d.Granted)
	_, err = s.VerifyAudit(ctx)
	require.NoError(t, err)
}
