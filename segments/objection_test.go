package segments_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/segments"
)

// TestMembersWithoutPurposeLeaveOutObjectionAndRestriction: a member list
// for no stated purpose is profiling, which an objection covers; a
// restricted person is in no processing at all. A transactional audience
// still reaches the objector.
func TestMembersWithoutPurposeLeaveOutObjectionAndRestriction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := engine.Open(ctx, filepath.Join(t.TempDir(), "t.duckdb"), engine.Options{Clock: clock.Fixed(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))})
	require.NoError(t, err)
	defer st.Close()
	_, err = st.ImportRows(ctx, engine.ImportProfiles, "test", []map[string]any{
		{"user_id": "keep", "email": "keep@example.com", "plan": "pro"},
		{"user_id": "objector", "email": "objector@example.com", "plan": "pro"},
		{"user_id": "restricted", "email": "restricted@example.com", "plan": "pro"},
	})
	require.NoError(t, err)
	_, err = st.Object(ctx, "objector", engine.PrivacyOptions{Actor: "test"})
	require.NoError(t, err)
	_, err = st.Restrict(ctx, "restricted", engine.PrivacyOptions{Actor: "test"})
	require.NoError(t, err)

	schema, err := segments.SchemaFromStore(ctx, st)
	require.NoError(t, err)
	seg, err := segments.Compile(`plan == "pro"`, schema)
	require.NoError(t, err)
	userIDs := func(a *segments.Audience) []string {
		ids, err := a.IDs(ctx, st)
		require.NoError(t, err)
		var out []string
		for _, id := range ids {
			p, err := st.Profile(ctx, id)
			require.NoError(t, err)
			out = append(out, p.UserID)
		}
		return out
	}

	none, err := segments.NewAudience(st, seg, "", "")
	require.NoError(t, err)
	require.Equal(t, []string{"keep"}, userIDs(none))
	counts, err := none.Count(ctx, st)
	require.NoError(t, err)
	require.EqualValues(t, 1, counts.Count)
	require.EqualValues(t, 1, counts.Removed.Objected)
	require.EqualValues(t, 1, counts.Removed.Restricted)
	objector, err := st.ResolveUser(ctx, "objector")
	require.NoError(t, err)
	d, err := none.Check(ctx, st, objector)
	require.NoError(t, err)
	require.False(t, d.Member, "the per-person check agrees")

	tx, err := segments.NewAudience(st, seg, "transactional", "email")
	require.NoError(t, err)
	counts, err = tx.Count(ctx, st)
	require.NoError(t, err)
	require.Zero(t, counts.Removed.Objected, "transactional messages still reach someone who objected to marketing")
	require.EqualValues(t, 1, counts.Removed.Restricted)
}
