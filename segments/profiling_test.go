package segments_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/segments"
)

// TestSavedSegmentsLeaveOutRestrictedAndObjectors: an objection covers
// profiling and a restriction all processing, so both leave every saved
// segment at the next refresh (and on a single-profile re-check), SQL and
// VM segments alike.
func TestSavedSegmentsLeaveOutRestrictedAndObjectors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t, clock.NewManual(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)))
	_, err := st.ImportRows(ctx, engine.ImportProfiles, "p", []map[string]any{
		{"user_id": "a", "age": int64(30)}, {"user_id": "b", "age": int64(40)}, {"user_id": "c", "age": int64(50)},
	})
	require.NoError(t, err)
	for _, expr := range []string{`age >= 25`, `let x = age; x >= 25`} {
		name := map[bool]string{true: "sqlseg", false: "vmseg"}[expr == `age >= 25`]
		d, err := segments.Save(ctx, st, name, expr)
		require.NoError(t, err)
		require.EqualValues(t, 3, d.Members, expr)
	}
	_, err = st.Restrict(ctx, "a", engine.PrivacyOptions{})
	require.NoError(t, err)
	_, err = st.Object(ctx, "b", engine.PrivacyOptions{})
	require.NoError(t, err)
	for _, name := range []string{"sqlseg", "vmseg"} {
		d, err := segments.Refresh(ctx, st, name)
		require.NoError(t, err)
		require.EqualValues(t, 1, d.Members, name)
		require.EqualValues(t, 2, d.Exited, name)
	}
	// A re-check of a restricted person does not bring them back.
	_, err = st.Unrestrict(ctx, "a", engine.PrivacyOptions{})
	require.NoError(t, err)
	_, err = st.Object(ctx, "a", engine.PrivacyOptions{})
	require.NoError(t, err)
	a, err := st.ResolveUser(ctx, "a")
	require.NoError(t, err)
	change, err := segments.Recheck(ctx, st, "sqlseg", a)
	require.NoError(t, err)
	require.Empty(t, change)
}
