package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNumKindsMatchesIdentityKinds: the per-record identifier arrays have
// one slot per identity kind.
func TestNumKindsMatchesIdentityKinds(t *testing.T) {
	t.Parallel()
	require.Len(t, IdentityKinds(), numKinds)
}
