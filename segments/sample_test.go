package segments_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/segments"
	"github.com/tactcdp/tact/segments/segtest"
)

var (
	sampleOnce sync.Once
	sampleFix  *agreeFixture
	sampleErr  error
)

// sampleFixture imports testdata/sample once per test binary.
func sampleFixture(t testing.TB) *agreeFixture {
	if _, err := os.Stat("../testdata/sample/crm_profiles.csv"); err != nil {
		t.Skip("testdata/sample is not there")
	}
	sampleOnce.Do(func() {
		ctx := context.Background()
		dir, err := osMkdirTemp()
		if err != nil {
			sampleErr = err
			return
		}
		st, err := segtest.OpenSample(ctx, "../testdata/sample", filepath.Join(dir, "sample.duckdb"))
		if err != nil {
			sampleErr = err
			return
		}
		sampleFix, sampleErr = loadFixture(ctx, st)
	})
	require.NoError(t, sampleErr)
	return sampleFix
}

// sampleSchema is what the generator may use on the sample.
func sampleGenSchema(sc segments.Schema) genSchema {
	g := genSchema{
		strVals: []string{"TH", "SG", "VN", "pro", "free", "enterprise", "th", "en", "Bangkok", "สุรเชษฐ์", "a", "", "kids", "loyalty"},
		numVals: []string{"0", "1", "2", "18", "25", "30", "45", "100.5", "1000", "0.1", "-1", "15820.45"},
		props:   [][2]string{{"amount", "num"}, {"store", "str"}, {"currency", "str"}, {"campaign", "str"}, {"path", "str"}},
		events:  []string{"purchase", "page_viewed", "email_opened", "email_clicked", "product_viewed", "added_to_cart"},
	}
	for _, tr := range sc.Traits {
		switch tr.Type {
		case engine.TypeString:
			g.str = append(g.str, tr.Name)
		case engine.TypeInt:
			g.num = append(g.num, tr.Name)
		case engine.TypeFloat:
			g.flt = append(g.flt, tr.Name)
		case engine.TypeBool:
			g.boolean = append(g.boolean, tr.Name)
		case engine.TypeTimestamp:
			g.ts = append(g.ts, tr.Name)
		case engine.TypeStringList:
			g.list = append(g.list, tr.Name)
		}
	}
	return g
}

// TestSampleAgreement: over the generated sample, a few hundred generated
// expressions select the same members on the SQL path as on the VM.
func TestSampleAgreement(t *testing.T) {
	t.Parallel()
	f := sampleFixture(t)
	gs := sampleGenSchema(f.sc)
	require.NotEmpty(t, gs.str)
	require.NotEmpty(t, gs.num)
	g := &exprGen{s: randSource{rand.New(rand.NewPCG(3, 4))}, sc: gs}
	paths := map[segments.Path]int{}
	for i := 0; i < 300; i++ {
		src := g.boolExpr()
		seg, err := segments.Compile(src, f.sc)
		require.NoError(t, err, "generated %q", src)
		paths[seg.Path()]++
		f.agree(t, seg)
	}
	t.Logf("paths: %v", paths)
}

// TestSampleIssueExample is the issue's acceptance expression on the
// sample: the SQL audience, the VM and the per-person check agree, and the
// removal breakdown adds up.
func TestSampleIssueExample(t *testing.T) {
	t.Parallel()
	f := sampleFixture(t)
	ctx := context.Background()
	seg, err := segments.Compile(`country == "TH" and age >= 25 and count(events, .event == "purchase" and .timestamp > ago("30d")) >= 2`, f.sc)
	require.NoError(t, err)
	require.Equal(t, segments.PathSQL, seg.Path())
	f.agree(t, seg)
	aud, err := segments.NewAudience(f.st, seg, "marketing", "email")
	require.NoError(t, err)
	c, err := aud.Count(ctx, f.st)
	require.NoError(t, err)
	require.Equal(t, c.Segment, c.Count+c.Removed.Total())
	ids, err := aud.IDs(ctx, f.st)
	require.NoError(t, err)
	require.Len(t, ids, int(c.Count))
	members, err := seg.MemberIDs(ctx, f.st)
	require.NoError(t, err)
	require.Len(t, members, int(c.Segment))
	var rt []int64
	for _, id := range members {
		d, err := aud.Check(ctx, f.st, id)
		require.NoError(t, err)
		require.True(t, d.InSegment)
		if d.Member {
			rt = append(rt, id)
		}
	}
	if rt == nil {
		rt = []int64{}
	}
	if ids == nil {
		ids = []int64{}
	}
	require.Equal(t, ids, rt, "per-person audience")
	t.Logf("issue example on the sample: %+v removed %+v", c, *c.Removed)
}
