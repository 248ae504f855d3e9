package engine

import (
	"os"
	"sync"
	"time"
)

// CompactProgress is how far a database rewrite (Compact) has got, in
// bytes of the fresh file.
type CompactProgress struct {
	// Done is the size the fresh file and its WAL have reached.
	Done int64
	// Total estimates the fresh file's final size: the blocks the old file
	// had in use after its checkpoint. Done may stop short of it (the fresh
	// file packs rows tighter) or pass it slightly (its own metadata); the
	// last report, once the copy is complete, has Done == Total.
	Total int64
}

// CompactOption adjusts one Compact.
type CompactOption func(*compactOptions)

type compactOptions struct {
	progress func(CompactProgress)
}

// WithCompactProgress has Compact report its progress to fn about every
// quarter second while it copies. fn runs on a goroutine of Compact's own,
// one call at a time, and never after Compact has returned. The engine
// never prints: the caller decides how to show it.
func WithCompactProgress(fn func(CompactProgress)) CompactOption {
	return func(o *compactOptions) { o.progress = fn }
}

// compactPollEvery is how often the fresh file's size is read.
const compactPollEvery = 250 * time.Millisecond

// watchGrowth reports the size of path (plus its WAL) against total until
// the returned stop is called; stop returns once no report is running,
// after a final report of the copy complete if it was. DuckDB copies a database
// in one statement with no progress of its own, but it writes full row
// groups to the new file as it goes, so the file's growth is the copy's.
func watchGrowth(path string, total int64, report func(CompactProgress)) (stop func(complete bool)) {
	done := make(chan bool, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(compactPollEvery)
		defer t.Stop()
		report(CompactProgress{Total: total})
		for {
			select {
			case complete := <-done:
				if complete {
					report(CompactProgress{Done: total, Total: total})
				}
				return
			case <-t.C:
				n := fileSize(path) + fileSize(path+".wal")
				if n >= total {
					n = total - 1 // not complete until the copy returns
				}
				report(CompactProgress{Done: max(n, 0), Total: total})
			}
		}
	}()
	return func(complete bool) {
		done <- complete
		wg.Wait()
	}
}

// fileSize is the size of path, 0 when it does not exist (yet).
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
