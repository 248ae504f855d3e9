package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestConsentImportFitsMemoryLimit: a consents file much larger than
// DuckDB's memory_limit imports, its entries numbered in input order and
// each entry once. Appending to the ledger used windows over whole rows,
// which held every entry at once: the sample's 5.3M-entry file at 1M
// profiles failed with "Out of Memory" at the default 1 GB, and this file
// fails the same way at 48 MB.
func TestConsentImportFitsMemoryLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, dir := openLimitedStore(t, "48MB")
	path := filepath.Join(dir, "consents.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "user_id,purpose,channel,status,timestamp,version,source")
	const entries, people = 120_000, 2_000
	pad := strings.Repeat("s", 300)
	for i := range entries {
		// Every 1,000th row repeats the entry before it, to the letter.
		j := i
		if i%1000 == 999 {
			j = i - 1
		}
		status := "granted"
		if j%2 == 1 {
			status = "withdrawn"
		}
		fmt.Fprintf(w, "u%d,marketing,email,%s,2026-10-%02dT%02d:%02d:%02dZ,2026-06,%s-%d\n",
			j%people, status, 1+j/86400%28, j/3600%24, j/60%60, j%60, pad, j)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())

	res, err := s.Import(ctx, engine.ImportConsents, path)
	require.NoError(t, err)
	require.Equal(t, entries, res.Rows)
	var n, first, last, distinct int64
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT count(*), min(seq), max(seq), count(DISTINCT seq) FROM consent_ledger`).Scan(&n, &first, &last, &distinct))
	require.Equal(t, int64(entries-entries/1000), n, "a repeated entry is stored once")
	require.Equal(t, []int64{1, n, n}, []int64{first, last, distinct}, "numbered 1…n without gaps")
	var src string
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT source FROM consent_ledger WHERE seq = 1000`).Scan(&src))
	require.True(t, strings.HasSuffix(src, "-1000"), "input order: the 1,000th entry stored is row 1,001, after the repeat (%s)", src[len(src)-8:])
}
