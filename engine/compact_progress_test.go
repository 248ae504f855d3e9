package engine_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// progressLog records a rewrite's reports and any that arrive after the
// call that made them has returned.
type progressLog struct {
	mu       sync.Mutex
	reports  []engine.CompactProgress
	returned atomic.Bool
	late     atomic.Int32
}

func (l *progressLog) add(p engine.CompactProgress) {
	if l.returned.Load() {
		l.late.Add(1)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reports = append(l.reports, p)
}

// TestCompactReportsProgress: erasure's rewrite of the file tells a
// display how far it has got (issue 16: long work shows progress), ends on
// a complete report whose total is the fresh file's order of size, and
// reports nothing once it has returned.
func TestCompactReportsProgress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, path := openStore(t)
	seedPeople(t, s)

	for name, run := range map[string]func(fn func(engine.CompactProgress)) error{
		"compact": func(fn func(engine.CompactProgress)) error {
			return s.Compact(ctx, engine.WithCompactProgress(fn))
		},
		"erase": func(fn func(engine.CompactProgress)) error {
			res, err := s.Erase(ctx, erasedEmail, engine.EraseOptions{Progress: fn})
			require.True(t, res.Compacted)
			return err
		},
	} {
		var log progressLog
		require.NoError(t, run(log.add), name)
		log.returned.Store(true)
		require.NotEmpty(t, log.reports, name)
		first, last := log.reports[0], log.reports[len(log.reports)-1]
		require.Zero(t, first.Done, name)
		require.Positive(t, last.Total, name)
		require.Equal(t, last.Total, last.Done, "%s: the last report says the copy is complete", name)
		for _, r := range log.reports[:len(log.reports)-1] {
			require.Less(t, r.Done, r.Total, "%s: only the last report is complete", name)
		}
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.InDelta(t, float64(st.Size()), float64(last.Total), float64(st.Size()), "%s: the total estimates the fresh file", name)
		require.Zero(t, log.late.Load(), name)
	}
}

// TestCompactWithoutProgressStillRewrites: no option, no reports, same
// result (the option is only a display).
func TestCompactWithoutProgressStillRewrites(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	seedPeople(t, s)
	require.NoError(t, s.Compact(context.Background(), engine.WithCompactProgress(nil)))
	require.NoError(t, s.Compact(context.Background()))
}
