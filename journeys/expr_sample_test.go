package journeys

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/segments"
	"github.com/tactcdp/tact/segments/segtest"
)

// TestExprBranchRoutesSegmentMembers is the differential test on the
// committed sample: a journey branch on an expression sends exactly the
// segment's members down its arm, for expressions on every evaluation
// path, the traps of two-valued semantics included.
func TestExprBranchRoutesSegmentMembers(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("../testdata/sample/crm_profiles.csv"); err != nil {
		t.Skip("testdata/sample is not there")
	}
	e := newEnv(t)
	e.clk.Set(segtest.RefNow())
	for _, f := range segtest.SampleFiles() {
		_, err := e.store.Import(e.ctx, f.Kind, filepath.Join("../testdata/sample", f.Name))
		require.NoError(t, err, f.Name)
	}
	_, err := segments.Save(e.ctx, e.store, "thai", `country == "TH"`)
	require.NoError(t, err)
	all, err := e.r.eval.Members(e.ctx, `true`, e.clk.Now())
	require.NoError(t, err)
	require.Greater(t, len(all), 500)
	sc, err := segments.SchemaFromStore(e.ctx, e.store)
	require.NoError(t, err)
	for i, src := range []string{
		`not (age > 30)`,
		`country != "TH" and plan == "pro"`,
		`signup_at > ago("1w2d")`,
		`count(events, .event == "purchase" and .timestamp > ago("30d")) >= 1`,
		`in_segment("thai") and vip == true`,
		`consented("marketing", "email") or bucket(4) == 1`,
		`string(age) == "30" or ltv > 100000`,
		`country == "TH" and string(age) == "30"`,
		`any(events, .properties.amount > age)`,
		`"kids" in tags and preferred_language != "th"`,
	} {
		name := fmt.Sprintf("diff-%d", i)
		e.publish(branchJourney(name, src))
		enterAll(t, e, name, all)
		e.run()
		seg, err := segments.Compile(src, sc)
		require.NoError(t, err, src)
		want, err := seg.MemberIDs(e.ctx, e.store)
		require.NoError(t, err, src)
		yes, no := e.exitedAt(name, "yes"), e.exitedAt(name, "no")
		require.Equal(t, len(all), len(yes)+len(no), src)
		require.Equal(t, nonNilIDs(want), yes, "%s (%s path)", src, seg.Path())
		t.Logf("%s: %d of %d (%s)", src, len(yes), len(all), seg.Path())
	}
}

// exitedAt lists the people who left journey name at exit step step.
func (e *env) exitedAt(name, step string) []int64 {
	e.t.Helper()
	rows, err := e.store.DB().QueryContext(e.ctx, `SELECT DISTINCT profile_id FROM journey_log WHERE journey = ? AND step = ? AND kind = 'exited' ORDER BY 1`, name, step)
	require.NoError(e.t, err)
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		require.NoError(e.t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(e.t, rows.Err())
	return ids
}

func nonNilIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}
