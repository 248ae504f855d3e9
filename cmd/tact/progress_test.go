package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

func TestProgressIsQuietOffATerminalOrWithQuiet(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	now := func() time.Time { return time.Unix(0, 0) }
	require.Nil(t, newProgress(&buf, "x", false, now), "a buffer is not a terminal")
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	require.NoError(t, err)
	defer f.Close()
	require.Nil(t, newProgress(f, "x", false, now), "a regular file is not a terminal")
	// A nil display accepts every call and prints nothing.
	var p *progressLine
	p.importStep(engine.ImportProgress{Phase: engine.PhaseRead, Done: 1, Total: 2})
	p.count(1, 2, "people")
	p.compactStep(engine.CompactProgress{Done: 1, Total: 2})
	require.Nil(t, p.onCompact(), "no display: the engine is not asked to watch the file")
	p.finish()
	require.Empty(t, buf.String())
}

func TestProgressShowsDoneRateAndTimeLeft(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := start
	var buf bytes.Buffer
	p := &progressLine{w: &buf, label: "crm.csv", now: func() time.Time { return at }, start: start}
	at = start.Add(2 * time.Second)
	p.importStep(engine.ImportProgress{Phase: engine.PhaseRead, Done: 4_000_000, Total: 10_000_000})
	require.Equal(t, "\rcrm.csv: read 4.0 of 10.0 MB, 2.0 MB/s, 3s left\x1b[K", buf.String())
	buf.Reset()
	at = at.Add(50 * time.Millisecond)
	p.importStep(engine.ImportProgress{Phase: engine.PhaseRead, Done: 4_100_000, Total: 10_000_000})
	require.Empty(t, buf.String(), "redrawn at most every refresh")
	p.importStep(engine.ImportProgress{Phase: engine.PhaseWrite})
	require.Equal(t, "\rcrm.csv: resolving identities and writing…\x1b[K", buf.String())
	buf.Reset()
	p.finish()
	require.Equal(t, "\r\x1b[K", buf.String(), "the line is cleared before results print")

	buf.Reset()
	c := &progressLine{w: &buf, label: "rewriting the database file", now: func() time.Time { return at }, start: start}
	c.onCompact()(engine.CompactProgress{Done: 3_000_000, Total: 12_000_000})
	require.Contains(t, buf.String(), "rewriting the database file: 3.0 of about 12.0 MB written, ")
	require.Contains(t, buf.String(), "left")

	buf.Reset()
	g := &progressLine{w: &buf, label: "gen", now: func() time.Time { return at }, start: start}
	g.count(1000, 1000, "people")
	require.Contains(t, buf.String(), "gen: 1000 of 1000 people")
	require.NotContains(t, buf.String(), "left", "nothing is left at the end")
}

func TestImportAndGenPrintNoProgressWhenStderrIsNotATerminal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"TACT_DB": filepath.Join(dir, "t.duckdb")}
	_, stderr, code := tact(t, env, "gen", "--out", dir, "--profiles", "20")
	require.Equal(t, 0, code, stderr)
	require.NotContains(t, stderr, "\r")
	_, stderr, code = tact(t, env, "import", "profiles", filepath.Join(dir, "crm_profiles.csv"))
	require.Equal(t, 0, code, stderr)
	require.NotContains(t, stderr, "\r")
	_, stderr, code = tact(t, env, "import", "--quiet", "events", filepath.Join(dir, "store_purchases.csv"))
	require.Equal(t, 0, code, stderr)
	require.NotContains(t, stderr, "\r")
	for _, quiet := range [][]string{nil, {"--quiet"}} {
		out, stderr, code := tact(t, env, append([]string{"privacy", "compact"}, quiet...)...)
		require.Equal(t, 0, code, stderr)
		require.Equal(t, "database file rewritten\n", out)
		require.NotContains(t, stderr, "\r")
	}
}

// TestNoProgressIntoDevNull: /dev/null is a character device but no
// terminal; progress written there would be work for nothing.
func TestNoProgressIntoDevNull(t *testing.T) {
	t.Parallel()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	require.False(t, isTerminal(f))
	require.Nil(t, newProgress(f, "import", false, time.Now))
}
