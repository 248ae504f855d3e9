package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tactcdp/tact/engine"
)

// TestResolveUserByInternalID: the internal id other commands print works
// wherever a person is named ("#42", "id:42", or 42 when no identifier
// matches); an identifier that looks like a number still wins.
func TestResolveUserByInternalID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := openStore(t)
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id,email\nann,ann@example.com\n1,one@example.com\n"))
	ann, err := s.ResolveUser(ctx, "ann")
	require.NoError(t, err)
	for _, form := range []string{fmt.Sprintf("#%d", ann), fmt.Sprintf("id:%d", ann)} {
		id, err := s.ResolveUser(ctx, form)
		require.NoError(t, err, form)
		require.Equal(t, ann, id, form)
	}
	one, err := s.ResolveUser(ctx, "one@example.com")
	require.NoError(t, err)
	id, err := s.ResolveUser(ctx, "1")
	require.NoError(t, err)
	require.Equal(t, one, id, "user_id 1 wins over profile id 1")
	_, err = s.ResolveUser(ctx, "#999")
	require.ErrorIs(t, err, engine.ErrNotFound)
}
