package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// inChunksOnEveryCore splits [0, n) into one range per core and runs
// fn(lo, hi) on each at once, for work that keeps state per range (a hash
// per worker). It reports whether every call returned true.
func inChunksOnEveryCore(n int, fn func(lo, hi int) bool) bool {
	workers := runtime.GOMAXPROCS(0)
	chunk := max((n+workers-1)/workers, 1)
	var failed atomic.Bool
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !fn(lo, hi) {
				failed.Store(true)
			}
		}()
	}
	wg.Wait()
	return !failed.Load()
}

// onEveryCore calls fn(i) for i in [0, n) split over the cores and
// reports whether every call returned true; once one returns false, the
// others stop.
func onEveryCore(n int, fn func(i int) bool) bool {
	var failed atomic.Bool
	return inChunksOnEveryCore(n, func(lo, hi int) bool {
		for i := lo; i < hi && !failed.Load(); i++ {
			if !fn(i) {
				failed.Store(true)
				return false
			}
		}
		return true
	})
}
