package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// These tests measure the Go heap an import keeps live while it reads its
// file: at every progress report (each MB read, on the reading goroutine)
// they collect garbage and read the live heap. They do not call
// t.Parallel: another test's allocations would count as this import's.

// liveHeap is the heap the last collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	runtime.GC()
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// importLiveHeap imports path and returns the most the live Go heap grew,
// over what it was before, at any progress report.
func importLiveHeap(t *testing.T, s *engine.Store, kind engine.ImportKind, path string) (engine.ImportResult, uint64) {
	t.Helper()
	base := liveHeap()
	var most uint64
	res, err := s.Import(context.Background(), kind, path, engine.WithProgress(func(p engine.ImportProgress) {
		if p.Phase != engine.PhaseRead {
			return
		}
		if live := liveHeap(); live > base && live-base > most {
			most = live - base
		}
	}))
	require.NoError(t, err)
	t.Logf("live Go heap grew by at most %.1f MB while %s was read", float64(most)/(1<<20), filepath.Base(path))
	return res, most
}

// writeLines writes header and then rows lines built by line(i).
func writeLines(t *testing.T, path, header string, rows int, line func(i int) string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	if header != "" {
		fmt.Fprintln(w, header)
	}
	for i := range rows {
		fmt.Fprintln(w, line(i))
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
}

// heapRows is the size of the inputs: every row names a person not seen
// before, so anything kept per distinct identifier set grows with the file.
const heapRows = 200_000

// heapBound is the most the live heap may grow while a heapRows file is
// read. The identifier sets of such a file held 60–80 MB in Go (a record
// per set, an index of them, and the line each identifier was cut from).
const heapBound = 16 << 20

// TestEventImportHeapDoesNotGrowWithPeople: an events file's distinct
// identifier sets are collected in DuckDB, not in Go, so the Go heap stays
// the same however many people the file names (issue 16: memory bounded by
// configuration, not by the file).
func TestEventImportHeapDoesNotGrowWithPeople(t *testing.T) {
	s, dir := openLimitedStore(t, "256MB")
	path := filepath.Join(dir, "events.csv")
	writeLines(t, path, "user_id,email,anonymous_id,event,timestamp,message_id", heapRows, func(i int) string {
		return fmt.Sprintf("u%07d,p%07d@example.com,a-%07d,page_viewed,2026-11-01T10:00:00Z,m-%d", i, i, i, i)
	})
	res, most := importLiveHeap(t, s, engine.ImportEvents, path)
	require.Equal(t, heapRows, res.EventsAdded)
	require.Equal(t, heapRows, res.ProfilesCreated)
	require.Less(t, most, uint64(heapBound), "live Go heap grew by %d MB while the file was read", most>>20)
}

// TestConsentImportHeapDoesNotGrowWithPeople: the same for a consents file.
func TestConsentImportHeapDoesNotGrowWithPeople(t *testing.T) {
	s, dir := openLimitedStore(t, "256MB")
	path := filepath.Join(dir, "consents.csv")
	writeLines(t, path, "user_id,email,purpose,channel,status,timestamp", heapRows, func(i int) string {
		return fmt.Sprintf("u%07d,p%07d@example.com,marketing,email,granted,2026-11-01T10:00:00Z", i, i)
	})
	res, most := importLiveHeap(t, s, engine.ImportConsents, path)
	require.Equal(t, heapRows, res.ConsentsAdded)
	require.Equal(t, heapRows, res.ProfilesCreated)
	require.Less(t, most, uint64(heapBound), "live Go heap grew by %d MB while the file was read", most>>20)
}

// TestProfileImportHeapDoesNotGrowWithRows: a profile file read row by row
// (JSONL here; Parquet and CSV files a rule sends back go the same way)
// keeps no identifiers in Go, only each row's line.
func TestProfileImportHeapDoesNotGrowWithRows(t *testing.T) {
	s, dir := openLimitedStore(t, "256MB")
	path := filepath.Join(dir, "profiles.jsonl")
	writeLines(t, path, "", heapRows, func(i int) string {
		return fmt.Sprintf(`{"user_id":"u%07d","email":"p%07d@example.com","anonymous_id":"a-%07d","plan":"pro"}`, i, i, i)
	})
	res, most := importLiveHeap(t, s, engine.ImportProfiles, path)
	require.Equal(t, heapRows, res.ProfilesCreated)
	require.Less(t, most, uint64(heapBound), "live Go heap grew by %d MB while the file was read", most>>20)
}
