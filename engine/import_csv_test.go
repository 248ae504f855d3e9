package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
)

// bigProfiles is a profile CSV of n rows for 1000 people: each person's
// plan is the number of the row that mentions them last.
func bigProfiles(n int, bad func(i int) string) string {
	var b strings.Builder
	b.WriteString("user_id,email,plan\n")
	for i := range n {
		email := fmt.Sprintf("p%d@example.com", i%1000)
		if bad != nil && bad(i) != "" {
			email = bad(i)
		}
		fmt.Fprintf(&b, "u%d,%s,plan%d\n", i%1000, email, i)
	}
	return b.String()
}

// openLogged opens a store whose debug log goes to the returned buffer.
func openLogged(t *testing.T) (*engine.Store, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	s, err := engine.Open(context.Background(), filepath.Join(t.TempDir(), "t.duckdb"), engine.Options{
		Config: testConfig(), Clock: clock.NewManual(refNow),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, &logs
}

func TestLargeCSVKeepsFileOrderAndReimportsToNothing(t *testing.T) {
	t.Parallel()
	s, logs := openLogged(t)
	ctx := context.Background()
	const n = 120_000
	path := writeFile(t, "big.csv", bigProfiles(n, nil))
	res := mustImport(t, s, engine.ImportProfiles, path)
	require.Equal(t, n, res.Rows)
	require.Equal(t, 1000, res.ProfilesCreated)
	require.NotContains(t, logs.String(), "row by row", "a plain file is imported set-based")
	for _, who := range []int{0, 1, 999} {
		p, err := s.Profile(ctx, resolve(t, s, fmt.Sprintf("u%d", who)))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("plan%d", n-1000+who), p.Traits["plan"], "the last row of a person wins")
	}
	var src string
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT source FROM identities WHERE kind = 'email' AND value = 'p999@example.com'`).Scan(&src))
	require.Equal(t, path+":1001", src, "an identity's source names the line it came from")
	before := counts(t, s)
	again := mustImport(t, s, engine.ImportProfiles, path)
	require.Zero(t, again.ProfilesCreated+again.ProfilesUpdated+again.IdentitiesAdded)
	require.Equal(t, before, counts(t, s))
}

func TestBadRowDeepInALargeCSVNamesItsLineAndColumn(t *testing.T) {
	t.Parallel()
	s, _ := openLogged(t)
	path := writeFile(t, "big.csv", bigProfiles(100_000, func(i int) string {
		if i == 97_654 {
			return "not-an-address"
		}
		return ""
	}))
	_, err := s.Import(context.Background(), engine.ImportProfiles, path)
	require.EqualError(t, err, path+`:97656:6: field "email": "not-an-address" is not an email address`)
	require.Zero(t, counts(t, s).Profiles, "nothing is written")
}

func TestCSVThatDoesNotLineUpIsReadRowByRow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, csv string
		line      int  // the line ann's email is recorded from
		rowByRow  bool // whether the file goes to the row reader
	}{
		{"blank line", "user_id,email\n\nu1,ann@example.com\n", 3, true},
		{"field over two lines", "user_id,note,email\nu0,\"a\nb\",zed@example.com\nu1,x,ann@example.com\n", 4, true},
		{"quoted quotes", "user_id,note,email\nu0,x,zed@example.com\nu1,\"say \"\"hi\"\"\",ann@example.com\n", 3, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, logs := openLogged(t)
			path := writeFile(t, "p.csv", tc.csv)
			mustImport(t, s, engine.ImportProfiles, path)
			if tc.rowByRow {
				require.Contains(t, logs.String(), "row by row")
			} else {
				require.NotContains(t, logs.String(), "row by row")
			}
			var src string
			require.NoError(t, s.DB().QueryRowContext(context.Background(), `SELECT source FROM identities WHERE value = 'ann@example.com'`).Scan(&src))
			require.Equal(t, fmt.Sprintf("%s:%d", path, tc.line), src)
		})
	}
}

func TestBareQuoteInACSVFieldIsRefusedWithItsPlace(t *testing.T) {
	t.Parallel()
	s, _ := openLogged(t)
	path := writeFile(t, "p.csv", "user_id,note,email\nu0,x,zed@example.com\nu1,say \"hi\",ann@example.com\n")
	_, err := s.Import(context.Background(), engine.ImportProfiles, path)
	require.EqualError(t, err, path+`:3: column 8: bare " in non-quoted-field`)
	require.Zero(t, counts(t, s).Profiles)
}

func TestImportReportsProgress(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, file, kind, content string }{
		{"profiles csv", "p.csv", "profiles", bigProfiles(50_000, nil)},
		{"events jsonl", "e.jsonl", "events", strings.Repeat(`{"user_id":"u1","event":"seen","timestamp":"2026-10-01T10:00:00Z"}`+"\n", 20_000)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := openLogged(t)
			path := writeFile(t, tc.file, tc.content)
			var got []engine.ImportProgress
			_, err := s.Import(context.Background(), engine.ImportKind(tc.kind), path, engine.WithProgress(func(p engine.ImportProgress) { got = append(got, p) }))
			require.NoError(t, err)
			require.Greater(t, len(got), 2)
			total := int64(len(tc.content))
			var last int64
			sawWrite := false
			for _, p := range got {
				if p.Phase == engine.PhaseWrite {
					sawWrite = true
					continue
				}
				require.Equal(t, total, p.Total)
				require.GreaterOrEqual(t, p.Done, last)
				last = p.Done
			}
			require.Equal(t, total, last, "reading ends at the file's size")
			require.True(t, sawWrite)
		})
	}
}

func TestBadEventDeepInACSVNamesItsLineAndColumn(t *testing.T) {
	t.Parallel()
	s, _ := openLogged(t)
	var b strings.Builder
	b.WriteString("user_id,event,timestamp\n")
	for i := range 50_000 {
		ts := "2026-10-01T10:00:00Z"
		if i == 43_210 {
			ts = "yesterday"
		}
		fmt.Fprintf(&b, "u%d,seen,%s\n", i%100, ts)
	}
	path := writeFile(t, "e.csv", b.String())
	_, err := s.Import(context.Background(), engine.ImportEvents, path)
	require.EqualError(t, err, path+`:43212:10: field "timestamp": "yesterday" is not an RFC 3339 timestamp or a date`)
	require.Zero(t, counts(t, s).Events)
}

// TestRowByRowReasonKeepsNoRowContent: when DuckDB cannot read a file (a
// row with a field too many), the debug log says the file went row by row
// but never carries DuckDB's message, which quotes the row.
func TestRowByRowReasonKeepsNoRowContent(t *testing.T) {
	t.Parallel()
	s, logs := openLogged(t)
	path := writeFile(t, "p.csv", "user_id,note,email\nu0,x,zed@example.com,extra\nu1,y,ann@example.com\n")
	_, err := s.Import(context.Background(), engine.ImportProfiles, path)
	require.EqualError(t, err, path+":2: wrong number of fields (the header has 3)")
	require.Contains(t, logs.String(), "row by row")
	require.NotContains(t, logs.String(), "example.com", "no row content in the log")
}

// TestTrailingEmptyFieldTooManyIsRefused: DuckDB's CSV reader takes a line
// ending in one empty field too many as the end of the row; the row reader
// refuses it, and so the set-based profile import must (it accepted the
// file, dropping the field).
func TestTrailingEmptyFieldTooManyIsRefused(t *testing.T) {
	t.Parallel()
	s, _ := openLogged(t)
	path := writeFile(t, "p.csv", "user_id,email\nu0,zed@example.com\nu1,ann@example.com,\n")
	_, err := s.Import(context.Background(), engine.ImportProfiles, path)
	require.EqualError(t, err, path+":3: wrong number of fields (the header has 2)")
	require.Zero(t, counts(t, s).Profiles)
}
