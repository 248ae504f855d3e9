package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// The erasure hook gets the person's identifiers before anything is
// deleted; when it fails, the erasure fails and the person is untouched.
func TestErasureHook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := openStore(t)
	seedPeople(t, s)
	var got []engine.Identity
	unreachable := errors.New("stream unreachable")
	s.SetErasureHook(func(_ context.Context, ids []engine.Identity) error {
		got = ids
		return unreachable
	})
	_, err := s.Erase(ctx, erasedUID, engine.EraseOptions{NoCompact: true})
	var he *engine.ErasureHookError
	require.ErrorAs(t, err, &he)
	require.ErrorIs(t, err, unreachable)
	kinds := map[string]string{}
	for _, id := range got {
		kinds[id.Kind] = id.Value
	}
	require.Equal(t, erasedUID, kinds[engine.KindUserID])
	require.Equal(t, erasedEmail, kinds[engine.KindEmail])
	_, err = s.ResolveUser(ctx, erasedUID)
	require.NoError(t, err, "a failed hook erases nothing")

	s.SetErasureHook(func(context.Context, []engine.Identity) error { return nil })
	_, err = s.Erase(ctx, erasedUID, engine.EraseOptions{NoCompact: true})
	require.NoError(t, err)
	_, err = s.ResolveUser(ctx, erasedUID)
	require.ErrorIs(t, err, engine.ErrNotFound)
}
