package journeys

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/segments"
)

// TestHoldoutIsTheBucketSegment: the global holdout and the expression
// language share one hash, so the people a 20 % holdout keeps out are
// exactly the members of the segment `bucket(100) < 20`.
func TestHoldoutIsTheBucketSegment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Policy.HoldoutPercent = 20 })
	ids := e.crowd(300, "UTC")
	e.publish(twoEmails)
	enterAll(t, e, "welcome", ids)
	e.run()
	e.advance(25 * time.Hour)
	sent := map[int64]bool{}
	for _, id := range e.chans["email"].to("hello") {
		sent[id] = true
	}
	var held []int64
	for _, id := range ids {
		if !sent[id] {
			held = append(held, id)
		}
	}
	sc, err := segments.SchemaFromStore(e.ctx, e.store)
	require.NoError(t, err)
	seg, err := segments.Compile(`bucket(100) < 20`, sc)
	require.NoError(t, err)
	members, err := seg.MemberIDs(e.ctx, e.store)
	require.NoError(t, err)
	sort.Slice(held, func(i, j int) bool { return held[i] < held[j] })
	require.NotEmpty(t, held)
	require.Equal(t, members, held)
	require.Equal(t, len(held), e.logCount("welcome", "hello", "skipped", ReasonHoldout))
}
