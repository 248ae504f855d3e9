package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/eligibility"
	"github.com/tactcdp/tact/engine/logging"
)

const (
	lineA = "U4af4980629a1b2c3d4e5f60718293a4b"
	lineB = "U0123456789abcdef0123456789abcdef"
)

func TestNormaliseLINEUserID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw, want string
		ok        bool
	}{
		{lineA, lineA, true},
		{"  " + lineA + " ", lineA, true},
		{"", "", false},
		{"U4AF4980629A1B2C3D4E5F60718293A4B", "", false}, // upper-case hex
		{"u4af4980629a1b2c3d4e5f60718293a4b", "", false},
		{lineA[:32], "", false},
		{lineA + "0", "", false},
		{"C4af4980629a1b2c3d4e5f60718293a4b", "", false}, // a group id
		{"2001234567:" + lineA, "", false},
	} {
		got, err := engine.NormaliseLINEUserID(tc.raw)
		if !tc.ok {
			require.Error(t, err, tc.raw)
			continue
		}
		require.NoError(t, err, tc.raw)
		require.Equal(t, tc.want, got)
	}
}

// TestLINEUserIDColumnInEveryImport: profiles, events and consents files
// of each format accept a line_user_id column and link it like any other
// identity.
func TestLINEUserIDColumnInEveryImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, format := range []string{"csv", "jsonl", "parquet"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			s, _, _ := openStore(t)
			dir := t.TempDir()
			write := func(name string, cols []string, row []string) string {
				p := filepath.Join(dir, name+"."+format)
				switch format {
				case "csv":
					p = writeFile(t, name+".csv", strings.Join(cols, ",")+"\n"+strings.Join(row, ",")+"\n")
				case "jsonl":
					fields := make([]string, len(cols))
					for i, c := range cols {
						fields[i] = fmt.Sprintf("%q:%q", c, row[i])
					}
					p = writeFile(t, name+".jsonl", "{"+strings.Join(fields, ",")+"}\n")
				case "parquet":
					sel := make([]string, len(cols))
					for i, c := range cols {
						sel[i] = fmt.Sprintf("'%s' AS %s", row[i], c)
					}
					_, err := s.DB().Exec(fmt.Sprintf(`COPY (SELECT %s) TO '%s' (FORMAT parquet)`, strings.Join(sel, ", "), p))
					require.NoError(t, err)
				}
				return p
			}
			res := mustImport(t, s, engine.ImportProfiles, write("p", []string{"user_id", "line_user_id", "plan"}, []string{"u1", lineA, "gold"}))
			require.Equal(t, 1, res.ProfilesCreated)
			id := resolve(t, s, lineA)
			require.Equal(t, id, resolve(t, s, "u1"))

			mustImport(t, s, engine.ImportEvents, write("e", []string{"line_user_id", "event", "timestamp", "message_id"}, []string{lineA, "line_follow", "2026-10-01T00:00:00Z", "m1"}))
			mustImport(t, s, engine.ImportConsents, write("c", []string{"line_user_id", "purpose", "channel", "status", "timestamp"}, []string{lineA, "marketing", "line", "granted", "2026-10-01T00:00:00Z"}))
			d, err := s.EvaluateConsent(ctx, id, "marketing", "line", refNow)
			require.NoError(t, err)
			require.True(t, d.Granted)
			var events int
			require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM events WHERE profile_id = ?`, id).Scan(&events))
			require.Equal(t, 1, events)

			_, err = s.Import(ctx, engine.ImportProfiles, write("bad", []string{"line_user_id"}, []string{"U123"}))
			require.ErrorContains(t, err, "line_user_id")
		})
	}
}

// TestLINEUserIDEligibilityExportErasure: the newest unsuppressed LINE
// user is the address; an unfollow-like suppression of one leaves the
// other; the personal-data export lists them; erasure removes them and
// suppresses them by keyed hash.
func TestLINEUserIDEligibilityExportErasure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, _ := openStore(t)
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", fmt.Sprintf("user_id,line_user_id\nu1,%s\nu1,%s\n", lineA, lineB)))
	mustImport(t, s, engine.ImportConsents, writeFile(t, "c.csv", fmt.Sprintf("line_user_id,purpose,channel,status,timestamp\n%s,marketing,line,granted,2026-10-01T00:00:00Z\n", lineA)))
	id := resolve(t, s, "u1")
	req := eligibility.Request{Purpose: "marketing", Channel: "line", At: refNow}

	reason, addr, err := s.EligiblePerson(ctx, req, id)
	require.NoError(t, err)
	require.Empty(t, reason)
	require.Equal(t, lineA, addr, "the greatest usable id")

	require.NoError(t, s.Suppress(ctx, engine.KindLINEUserID, lineA, "unfollow", "line_webhook"))
	reason, addr, err = s.EligiblePerson(ctx, req, id)
	require.NoError(t, err)
	require.Empty(t, reason)
	require.Equal(t, lineB, addr)
	require.NoError(t, s.Suppress(ctx, engine.KindLINEUserID, lineB, "unfollow", "line_webhook"))
	reason, _, err = s.EligiblePerson(ctx, req, id)
	require.NoError(t, err)
	require.Equal(t, eligibility.Suppressed, reason)
	require.NoError(t, s.Unsuppress(ctx, engine.KindLINEUserID, lineA))

	doc, err := s.ExportPersonalData(ctx, "u1", engine.PrivacyOptions{})
	require.NoError(t, err)
	exported := 0
	for _, i := range doc.Identities {
		if i.Kind == engine.KindLINEUserID {
			exported++
		}
	}
	require.Equal(t, 2, exported, "both LINE users are in the export")

	_, err = s.Erase(ctx, "u1", engine.EraseOptions{NoCompact: true})
	require.NoError(t, err)
	var left int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM identities WHERE kind = 'line_user_id'`).Scan(&left))
	require.Zero(t, left)
	for _, v := range []string{lineA, lineB} {
		ok, _, err := s.Suppressed(ctx, engine.KindLINEUserID, v)
		require.NoError(t, err)
		require.True(t, ok, "erased LINE users are suppressed")
	}
	var plain int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM suppressions WHERE addr_hash IN (?, ?)`, lineA, lineB).Scan(&plain))
	require.Zero(t, plain, "kept as keyed hashes only")

	// A fresh LINE grant after the erasure lifts the erased suppression.
	clk.Advance(time.Hour)
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p2.csv", fmt.Sprintf("user_id,line_user_id\nu1,%s\n", lineA)))
	id = resolve(t, s, "u1")
	require.NoError(t, s.RecordConsent(ctx, engine.ConsentInput{ProfileID: id, Purpose: "marketing", Channel: "line",
		Status: consent.Granted, Source: "test"}))
	ok, _, err := s.Suppressed(ctx, engine.KindLINEUserID, lineA)
	require.NoError(t, err)
	require.False(t, ok, "a line grant lifts the erased suppression of the LINE user")
}

// TestIdentityKindListsAgree: every identity kind is redacted in logs,
// reserved against trait names and, when it is an address, suppressible.
func TestIdentityKindListsAgree(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	for _, k := range engine.IdentityKinds() {
		require.Contains(t, logging.SensitiveKeys, k)
		require.Contains(t, engine.SystemNames(), k)
	}
	for _, k := range eligibility.AddressKinds() {
		require.Contains(t, engine.IdentityKinds(), k)
	}
	_, err := s.Import(context.Background(), engine.ImportProfiles, writeFile(t, "p.csv", "user_id,first_seen_at\nu1,x\n"))
	require.ErrorContains(t, err, "reserved")
	require.ErrorContains(t, s.Suppress(context.Background(), "anonymous_id", "a1", "manual", "test"), "line_user_id")
}
