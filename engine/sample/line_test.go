package sample

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLINEUsers: part of the customers (most of them Thai) carry a LINE
// user id in the CRM, each distinct and of LINE's form, the same in every
// row of a customer; only they have marketing/line consent entries, keyed
// by user_id; the counts match the manifest.
func TestLINEUsers(t *testing.T) {
	d := loadDataset(t)
	c := d.m.Cases.Counts
	lineID := regexp.MustCompile(`^U[0-9a-f]{32}$`)
	owner := map[string]string{}
	users, thai := map[string]string{}, 0
	for _, r := range d.crm {
		if first := d.first[r.userID]; first != nil && first.lineUserID != r.lineUserID {
			t.Fatalf("line %d: LINE id differs from the customer's first row", r.line)
		}
		if r.lineUserID == "" {
			continue
		}
		require.Regexp(t, lineID, r.lineUserID)
		if u, ok := owner[r.lineUserID]; ok {
			require.Equal(t, u, r.userID, "LINE id %s shared", r.lineUserID)
		}
		owner[r.lineUserID] = r.userID
		if _, seen := users[r.userID]; !seen && r.country == "TH" {
			thai++
		}
		users[r.userID] = r.lineUserID
	}
	require.Equal(t, c.LINEUsers, len(users))
	require.Greater(t, c.LINEUsers, 100)
	require.Greater(t, thai, c.LINEUsers/2, "mostly Thai customers")
	require.Greater(t, c.MarketingLINEGranted, 0)
	require.Less(t, c.MarketingLINEGranted, c.LINEUsers)

	header, rows := readCSV(t, filepath.Join(d.dir, FileConsents))
	require.Equal(t, "channel", header[3])
	withLINE := map[string]bool{}
	for _, r := range rows {
		if r[3] != "line" {
			continue
		}
		require.NotEmpty(t, r[0], "LINE consents are keyed by user_id")
		require.Contains(t, users, r[0])
		require.Equal(t, "line_follow", r[7])
		withLINE[r[0]] = true
	}
	require.NotEmpty(t, withLINE)
	require.LessOrEqual(t, len(withLINE), len(users))
}
