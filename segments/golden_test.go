package segments_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/segments"
)

// TestGolden runs every case of testdata/segments/*.txt on both paths: the
// bulk path (SQL, or SQL candidates + VM), the VM over every profile, and
// the per-person real-time path; all must equal the expected members.
func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../testdata/segments/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	total := 0
	for _, f := range files {
		g, err := parseGolden(f)
		require.NoError(t, err)
		total += len(g.cases)
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			runGoldenFile(t, g)
		})
	}
	require.GreaterOrEqual(t, total, 80, "golden cases")
}

func runGoldenFile(t *testing.T, g *goldenFile) {
	ctx := context.Background()
	st := g.load(t)
	sc, err := segments.SchemaFromStore(ctx, st)
	require.NoError(t, err)
	all := allIDs(t, st)
	for _, c := range g.cases {
		t.Run(c.name, func(t *testing.T) {
			seg, err := segments.Compile(c.expr, sc)
			if c.err != "" {
				require.Error(t, err, "line %d", c.line)
				require.Contains(t, err.Error(), c.err, "line %d", c.line)
				return
			}
			require.NoError(t, err, "line %d", c.line)
			if c.path != "" {
				require.Equal(t, c.path, string(seg.Path()), "line %d: path (%v)", c.line, seg.Reasons())
			}
			if c.audience[0] != "" {
				aud, err := segments.NewAudience(st, seg, c.audience[0], c.audience[1])
				require.NoError(t, err)
				ids, err := aud.IDs(ctx, st)
				require.NoError(t, err)
				require.Equal(t, c.want, userIDs(t, st, ids), "line %d: bulk audience", c.line)
				var rt []int64
				for _, id := range all {
					d, err := aud.Check(ctx, st, id)
					require.NoError(t, err)
					if d.Member {
						rt = append(rt, id)
					}
				}
				require.Equal(t, c.want, userIDs(t, st, rt), "line %d: per-person audience", c.line)
				n, err := aud.Count(ctx, st)
				require.NoError(t, err)
				require.Equal(t, int64(len(c.want)), n.Count, "line %d: count", c.line)
				require.Equal(t, n.Segment, n.Count+n.Removed.Total(), "line %d: breakdown adds up", c.line)
				return
			}
			bulk, err := seg.MemberIDs(ctx, st)
			require.NoError(t, err)
			require.Equal(t, c.want, userIDs(t, st, bulk), "line %d: bulk (%s) %s", c.line, seg.Path(), seg.SQL())
			vmAll, err := seg.VMMemberIDs(ctx, st)
			require.NoError(t, err)
			require.Equal(t, c.want, userIDs(t, st, vmAll), "line %d: VM over all profiles", c.line)
			require.Equal(t, c.want, userIDs(t, st, realtimeIDs(t, st, seg, all)), "line %d: real-time", c.line)
		})
	}
}
