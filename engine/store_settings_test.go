package engine_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

func TestMemoryLimitAndThreadsAreApplied(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		cfg         engine.Config
		wantLimit   string
		wantThreads int64 // 0: not checked
	}{
		{name: "default", cfg: engine.Config{}, wantLimit: "953.6 MiB"},
		{name: "configured", cfg: engine.Config{MemoryLimit: "512MB", Threads: 1}, wantLimit: "488.2 MiB", wantThreads: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := engine.Open(ctx, filepath.Join(t.TempDir(), "m.duckdb"), engine.Options{Config: tc.cfg})
			require.NoError(t, err)
			defer s.Close()
			// Several connections: each one gets the settings.
			for range 3 {
				conn, err := s.DB().Conn(ctx)
				require.NoError(t, err)
				var limit string
				var threads int64
				require.NoError(t, conn.QueryRowContext(ctx, `SELECT current_setting('memory_limit'), current_setting('threads')`).Scan(&limit, &threads))
				require.Equal(t, tc.wantLimit, limit)
				if tc.wantThreads != 0 {
					require.Equal(t, tc.wantThreads, threads)
				}
				defer conn.Close()
			}
		})
	}
}

func TestBadMemoryLimitIsRefusedByName(t *testing.T) {
	t.Parallel()
	_, err := engine.Open(context.Background(), filepath.Join(t.TempDir(), "m.duckdb"), engine.Options{Config: engine.Config{MemoryLimit: "lots"}})
	require.ErrorContains(t, err, `memory_limit "lots"`)
	_, err = engine.Open(context.Background(), filepath.Join(t.TempDir(), "n.duckdb"), engine.Options{Config: engine.Config{Threads: -1}})
	require.ErrorContains(t, err, "threads: -1")
}
