package engine

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQuietCheckpointWaitsForTheLogToStopGrowing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "q.duckdb"), Options{})
	require.NoError(t, err)
	defer s.Close()
	write := func(id string) {
		t.Helper()
		_, err := s.ImportRows(ctx, ImportProfiles, "rows", []map[string]any{{"user_id": id, "plan": "pro"}})
		require.NoError(t, err)
	}
	wal := func() int64 {
		t.Helper()
		n, err := s.walSize()
		require.NoError(t, err)
		return n
	}
	q := &quietCheckpoints{s: s, minWAL: 1}
	steps := []struct {
		write string // a profile written before the step ("" none)
		want  bool
	}{
		{"", false},   // the first look: nothing to compare with
		{"u1", false}, // the log grew
		{"u2", false}, // and grew again
		{"", true},    // the same size as at the last look
		{"", false},   // nothing left to checkpoint
		{"u3", false},
		{"", true},
	}
	for i, st := range steps {
		if st.write != "" {
			write(st.write)
			require.Positive(t, wal())
		}
		did, err := q.step(ctx)
		require.NoError(t, err)
		require.Equal(t, st.want, did, "step %d", i)
		if did {
			require.Zero(t, wal(), "step %d", i)
		}
	}
	var n int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM profiles`).Scan(&n))
	require.Equal(t, 3, n)

	// A log below the minimum is left to DuckDB's threshold.
	write("u4")
	big := &quietCheckpoints{s: s, minWAL: 1 << 40}
	for range 3 {
		did, err := big.step(ctx)
		require.NoError(t, err)
		require.False(t, did)
	}
	require.Positive(t, wal())
}
