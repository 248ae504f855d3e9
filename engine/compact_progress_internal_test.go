package engine

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWatchGrowthFollowsTheFile: the reports follow the fresh file and its
// WAL as they grow, never claim completion before stop, and end complete
// only if the copy was.
func TestWatchGrowthFollowsTheFile(t *testing.T) {
	t.Parallel()
	for _, complete := range []bool{true, false} {
		path := filepath.Join(t.TempDir(), "fresh.duckdb")
		var mu sync.Mutex
		var got []CompactProgress
		stop := watchGrowth(path, 1000, func(p CompactProgress) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, p)
		})
		seen := func(done int64) func() bool {
			return func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(got) > 0 && got[len(got)-1].Done == done
			}
		}
		require.NoError(t, os.WriteFile(path, make([]byte, 300), 0o600))
		require.NoError(t, os.WriteFile(path+".wal", make([]byte, 200), 0o600))
		require.Eventually(t, seen(500), 10*time.Second, 20*time.Millisecond, "file and WAL counted")
		require.NoError(t, os.WriteFile(path, make([]byte, 5000), 0o600))
		require.Eventually(t, seen(999), 10*time.Second, 20*time.Millisecond, "held short of complete until stop")
		stop(complete)
		last := got[len(got)-1]
		require.Equal(t, complete, last.Done == last.Total, "complete only when the copy was")
		require.Equal(t, int64(1000), last.Total)
	}
}
