package segments_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/segments"
	"github.com/tactcdp/tact/segments/segtest"
)

// refNow is the reference instant of the sample and the golden files.
var refNow = segtest.RefNow()

// userIDs maps profile ids to sorted user_ids (or "#id" without one).
func userIDs(t testing.TB, st *engine.Store, ids []int64) []string {
	return segtest.UserIDs(t, st, ids)
}

// realtimeIDs evaluates seg for each profile through the per-person path.
func realtimeIDs(t testing.TB, st *engine.Store, seg *segments.Segment, all []int64) []int64 {
	var out []int64
	for _, id := range all {
		ok, err := seg.Match(context.Background(), st, id)
		require.NoError(t, err)
		if ok {
			out = append(out, id)
		}
	}
	return out
}
