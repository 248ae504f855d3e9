package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/engine/consent"
)

var refNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func testConfig() engine.Config {
	return engine.Config{
		DefaultRegion: "TH",
		Purposes: []consent.Purpose{
			{Name: "marketing", Versions: []consent.NoticeVersion{{Version: "2025-01"}, {Version: "2026-06"}}},
			{Name: "personalisation", Versions: []consent.NoticeVersion{{Version: "v1"}, {Version: "v2", RequiresReconsent: true}}},
		},
	}
}

// openStore opens a file database in a temp dir with a manual clock.
func openStore(t *testing.T) (*engine.Store, *clock.Manual, string) {
	t.Helper()
	clk := clock.NewManual(refNow)
	path := filepath.Join(t.TempDir(), "tact.duckdb")
	s, err := engine.Open(context.Background(), path, engine.Options{Config: testConfig(), Clock: clk})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, clk, path
}

// writeFile writes content to name in a temp dir and returns the path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func mustImport(t *testing.T, s *engine.Store, kind engine.ImportKind, path string) engine.ImportResult {
	t.Helper()
	res, err := s.Import(context.Background(), kind, path)
	require.NoError(t, err)
	return res
}

func counts(t *testing.T, s *engine.Store) engine.Counts {
	t.Helper()
	c, err := s.Counts(context.Background())
	require.NoError(t, err)
	return c
}

func resolve(t *testing.T, s *engine.Store, who string) int64 {
	t.Helper()
	id, err := s.ResolveUser(context.Background(), who)
	require.NoError(t, err)
	return id
}
