package segments_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/segments"
	"github.com/tactcdp/tact/segments/segtest"
)

// TestGolden runs every case of testdata/segments/*.txt on both paths: the
// bulk path (SQL, or SQL candidates + VM), the VM over every profile, and
// the per-person real-time path; all must equal the expected members.
func TestGolden(t *testing.T) {
	t.Parallel()
	total := segtest.RunFiles(t, "../testdata/segments", runGoldenFile)
	require.GreaterOrEqual(t, total, 80, "golden cases")
}

func runGoldenFile(t *testing.T, g *segtest.File) {
	ctx := context.Background()
	st := g.Load(t)
	sc, err := segments.SchemaFromStore(ctx, st)
	require.NoError(t, err)
	all := segtest.AllIDs(t, st)
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			seg, err := segments.Compile(c.Expr, sc)
			if c.Err != "" {
				require.Error(t, err, "line %d", c.Line)
				require.Contains(t, err.Error(), c.Err, "line %d", c.Line)
				return
			}
			require.NoError(t, err, "line %d", c.Line)
			if c.Path != "" {
				require.Equal(t, c.Path, string(seg.Path()), "line %d: path (%v)", c.Line, seg.Reasons())
			}
			if c.Audience[0] != "" {
				aud, err := segments.NewAudience(st, seg, c.Audience[0], c.Audience[1])
				require.NoError(t, err)
				ids, err := aud.IDs(ctx, st)
				require.NoError(t, err)
				require.Equal(t, c.Want, userIDs(t, st, ids), "line %d: bulk audience", c.Line)
				var rt []int64
				for _, id := range all {
					d, err := aud.Check(ctx, st, id)
					require.NoError(t, err)
					if d.Member {
						rt = append(rt, id)
					}
				}
				require.Equal(t, c.Want, userIDs(t, st, rt), "line %d: per-person audience", c.Line)
				n, err := aud.Count(ctx, st)
				require.NoError(t, err)
				require.Equal(t, int64(len(c.Want)), n.Count, "line %d: count", c.Line)
				require.Equal(t, n.Segment, n.Count+n.Removed.Total(), "line %d: breakdown adds up", c.Line)
				return
			}
			bulk, err := seg.MemberIDs(ctx, st)
			require.NoError(t, err)
			require.Equal(t, c.Want, userIDs(t, st, bulk), "line %d: bulk (%s) %s", c.Line, seg.Path(), seg.SQL())
			vmAll, err := seg.VMMemberIDs(ctx, st)
			require.NoError(t, err)
			require.Equal(t, c.Want, userIDs(t, st, vmAll), "line %d: VM over all profiles", c.Line)
			require.Equal(t, c.Want, userIDs(t, st, realtimeIDs(t, st, seg, all)), "line %d: real-time", c.Line)
		})
	}
}
