package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// identityRow is one row of the identities table, in table order.
type identityRow struct {
	ProfileID          int64
	Kind, Value        string
	Hash, Source, Seen string
}

func identityRows(t *testing.T, s *engine.Store) []identityRow {
	t.Helper()
	rows, err := s.DB().QueryContext(context.Background(),
		`SELECT profile_id, kind, value, value_hash, source, strftime(first_seen_at, '%Y-%m-%dT%H:%M:%S.%f') FROM identities ORDER BY rowid`)
	require.NoError(t, err)
	defer rows.Close()
	var out []identityRow
	for rows.Next() {
		var r identityRow
		require.NoError(t, rows.Scan(&r.ProfileID, &r.Kind, &r.Value, &r.Hash, &r.Source, &r.Seen))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// The identities are written set-based, their keyed hashes computed by SQL:
// every hash is HashIdentifier's, whatever bytes the value holds.
func TestIdentityHashesAreHashIdentifiers(t *testing.T) {
	t.Parallel()
	values := []string{
		"u1",
		`u-\x41\\x00`,               // a BLOB cast would read escapes
		"ผู้ใช้-๑",                  // multi-byte UTF-8
		"emoji-🙂",                   // four-byte UTF-8
		"it's \"quoted\"",           // quotes
		strings.Repeat("k", 300),    // longer than a hash block
		strings.Repeat("ก", 170),    // 510 bytes of three-byte runes
		"tab\u00a0nbsp and spaces ", // trimmed by normalisation
	}
	s, _, _ := openStore(t)
	var rows []map[string]any
	for i, v := range values {
		rows = append(rows, map[string]any{"anonymous_id": v, "device_token": "d" + v, "user_id": "uid" + string(rune('a'+i))})
	}
	_, err := s.ImportRows(context.Background(), engine.ImportProfiles, "api", rows)
	require.NoError(t, err)
	got := identityRows(t, s)
	require.Len(t, got, 3*len(values))
	for _, r := range got {
		require.Equal(t, s.HashIdentifier(r.Kind, r.Value), r.Hash, "%s %q", r.Kind, r.Value)
	}
}

// Each new identifier is written once, on the line it first appears on, to
// that line's profile; the set-based CSV path and the row-by-row path write
// the same rows.
func TestNewIdentitiesTakeTheirFirstLine(t *testing.T) {
	t.Parallel()
	const csv = "user_id,email,anonymous_id\n" +
		"u1,a@example.com,\n" +
		"u2,a@example.com,x1\n" + // the address stays with u1; x1 is u2's
		",A@example.com,x2\n" + // x2 joins u1 through the address
		"u1,,x1\n" // x1 already belongs to u2: refused, nothing new
	want := func(dir string) []identityRow {
		src := func(line string) string { return filepath.Join(dir, "crm") + ":" + line }
		seen := "2026-11-01T00:00:00.000000"
		return []identityRow{
			{1, engine.KindUserID, "u1", "", src("2"), seen},
			{1, engine.KindEmail, "a@example.com", "", src("2"), seen},
			{2, engine.KindUserID, "u2", "", src("3"), seen},
			{2, engine.KindAnonymousID, "x1", "", src("3"), seen},
			{1, engine.KindAnonymousID, "x2", "", src("4"), seen},
		}
	}
	jsonl := `{"user_id":"u1","email":"a@example.com"}
{"user_id":"u2","email":"a@example.com","anonymous_id":"x1"}
{"email":"A@example.com","anonymous_id":"x2"}
{"user_id":"u1","anonymous_id":"x1"}
`
	for _, tc := range []struct{ name, file, content string }{
		{"csv, set-based", "crm.csv", csv},
		{"jsonl, row by row", "crm.jsonl", "\n" + jsonl}, // a blank first line: the lines match the CSV's
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, _ := openStore(t)
			path := writeFile(t, tc.file, tc.content)
			res := mustImport(t, s, engine.ImportProfiles, path)
			require.Equal(t, 5, res.IdentitiesAdded)
			got := identityRows(t, s)
			for i := range got {
				require.Equal(t, s.HashIdentifier(got[i].Kind, got[i].Value), got[i].Hash)
				got[i].Hash = ""
			}
			wantRows := want(filepath.Dir(path))
			for i := range wantRows {
				wantRows[i].Source = strings.Replace(wantRows[i].Source, "crm:", tc.file+":", 1)
			}
			require.ElementsMatch(t, wantRows, got)
			again := mustImport(t, s, engine.ImportProfiles, path)
			require.Zero(t, again.IdentitiesAdded, "importing again adds nothing")
			require.Len(t, identityRows(t, s), 5)
		})
	}
}

// The hashes are computed a range of key ids at a time: an import of more
// new identifiers than one range, some of them already held, writes every
// new one once with HashIdentifier's hash and leaves the held ones alone.
func TestIdentityHashesAcrossKeyRanges(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	var held, all strings.Builder
	held.WriteString("anonymous_id\n")
	all.WriteString("anonymous_id,device_token\n")
	const rows = 40_000 // two identifiers a row: more than one range of 65,536 keys
	for i := range rows {
		if i%10 == 0 {
			fmt.Fprintf(&held, "a%d\n", i)
		}
		fmt.Fprintf(&all, "a%d,d%d\n", i, i)
	}
	first := mustImport(t, s, engine.ImportProfiles, writeFile(t, "held.csv", held.String()))
	require.Equal(t, rows/10, first.IdentitiesAdded)
	res := mustImport(t, s, engine.ImportProfiles, writeFile(t, "all.csv", all.String()))
	require.Equal(t, 2*rows-rows/10, res.IdentitiesAdded)
	got := identityRows(t, s)
	require.Len(t, got, 2*rows)
	seen := map[string]bool{}
	for _, r := range got {
		require.Equal(t, s.HashIdentifier(r.Kind, r.Value), r.Hash, "%s %q", r.Kind, r.Value)
		require.False(t, seen[r.Kind+"\x00"+r.Value], "%s %q written twice", r.Kind, r.Value)
		seen[r.Kind+"\x00"+r.Value] = true
	}
}
