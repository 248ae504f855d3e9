package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The distinct identifier sets of an events or consents input keep their
// first line, in order of first appearance; once collected, the index that
// found repeats is let go (resolution needs the memory).
func TestIDTuplesDoneKeepsFirstSetsAndDropsIndex(t *testing.T) {
	t.Parallel()
	var tu idTuples
	a := [numKinds]string{"u1"}
	b := [numKinds]string{"", "a@example.com"}
	for _, r := range []struct {
		ids  [numKinds]string
		line int
	}{{a, 2}, {b, 3}, {a, 4}, {b, 5}} {
		tu.add(r.ids, r.line)
	}
	require.Equal(t, []idRecord{{ids: a, line: 2}, {ids: b, line: 3}}, tu.done())
	require.Nil(t, tu.index)
	require.Nil(t, tu.records, "the sets are handed over, not kept")
}

// Sets that differ only in where the bytes fall between identifiers, or in
// which slot holds a value, are different sets.
func TestIDTuplesTellShiftedSetsApart(t *testing.T) {
	t.Parallel()
	sets := [][numKinds]string{
		{"ab", "c"},
		{"a", "bc"},
		{"abc"},
		{"", "abc"},
		{"a\x00", "b"},
		{"a", "\x00b"},
		{"\x02ab"},
		{"\x01a", "b"},
		{},
	}
	var tu idTuples
	for i, ids := range sets {
		tu.add(ids, i+2)
		tu.add(ids, i+100) // a repeat keeps its first line
	}
	got := tu.done()
	require.Len(t, got, len(sets))
	for i, r := range got {
		require.Equal(t, idRecord{ids: sets[i], line: i + 2}, r)
	}
}

// Only a large input forces a collection: events arrive one row at a time
// through the HTTP paths (delivery feedback).
func TestOnlyLargeImportsReleaseMemory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rows int
		want bool
	}{{0, false}, {1, false}, {releaseRows - 1, false}, {releaseRows, true}, {5_316_990, true}} {
		require.Equal(t, tc.want, releasesMemory(tc.rows), "%d rows", tc.rows)
	}
}
