package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConsentStateRebuiltByRangesIsTheSame: rebuilding the current consent
// state a range of profiles at a time (as a large import does, to bound
// the windows' memory) gives the same rows as rebuilding it at once, for
// ranges of every size down to a few entries.
func TestConsentStateRebuiltByRangesIsTheSame(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := trackingStore(t, 60, true)
	state := func(rows int) string {
		require.NoError(t, s.write(ctx, func(w *writer) error {
			return s.rebuildConsentStateBy(w, allConsentProfiles, rows)
		}))
		var got string
		require.NoError(t, s.db.QueryRowContext(ctx, `SELECT coalesce(string_agg(cs::VARCHAR, chr(10) ORDER BY cs::VARCHAR), '') FROM consent_state cs`).Scan(&got))
		return got
	}
	whole := state(1 << 40)
	require.NotEmpty(t, whole)
	for _, rows := range []int{1, 3, 17, 100} {
		require.Equal(t, whole, state(rows), "ranges of about %d entries", rows)
	}
	var ranges int
	q := fmt.Sprintf(s.query("consent-rebuild-ranges"), allConsentProfiles, 3)
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT count(*) FROM (`+strings.TrimSuffix(strings.TrimSpace(q), ";")+`)`).Scan(&ranges))
	require.Greater(t, ranges, 10, "small ranges split the ledger")
}
