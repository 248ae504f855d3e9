package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func rec(uid, email, phone, anon, device string) idRecord {
	return idRecord{ids: [numKinds]string{uid, email, phone, anon, device}, line: 1}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	t.Run("rows sharing an email are one profile", func(t *testing.T) {
		t.Parallel()
		res := resolve([]idRecord{rec("u1", "a@x.io", "", "", ""), rec("", "a@x.io", "", "anon1", "")}, nil, 1)
		require.Equal(t, []int64{1, 1}, res.recordProfile)
		require.Equal(t, []int64{1}, res.newProfiles)
		require.Len(t, res.newIdentities, 3)
		require.Empty(t, res.log)
	})
	t.Run("two user ids sharing an email stay apart", func(t *testing.T) {
		t.Parallel()
		res := resolve([]idRecord{rec("u1", "fam@x.io", "", "", ""), rec("u2", "fam@x.io", "", "", "")}, nil, 1)
		require.Equal(t, []int64{1, 2}, res.recordProfile)
		require.True(t, res.refused[1][1], "email link of the second user must be refused")
		require.Equal(t, []resolvedLog{{action: "conflict", profileID: 1, otherID: 2, kind: KindEmail, value: "fam@x.io", line: 1}}, res.log)
	})
	t.Run("an identify links two existing profiles and the older survives", func(t *testing.T) {
		t.Parallel()
		existing := map[idKey]owner{
			{1, "a@x.io"}: {profileID: 7, userID: "u1"},
			{3, "anon9"}:  {profileID: 4},
		}
		res := resolve([]idRecord{rec("", "a@x.io", "", "anon9", "")}, existing, 100)
		require.Equal(t, []int64{4}, res.recordProfile)
		require.Equal(t, map[int64]int64{7: 4}, res.merges)
		require.Empty(t, res.newProfiles)
		require.Equal(t, []resolvedLog{{action: "merge", profileID: 4, otherID: 7, kind: KindAnonymousID, value: "anon9", line: 1}}, res.log)
	})
	t.Run("existing user id is never relinked", func(t *testing.T) {
		t.Parallel()
		existing := map[idKey]owner{{1, "a@x.io"}: {profileID: 3, userID: "u1"}, {0, "u1"}: {profileID: 3, userID: "u1"}}
		res := resolve([]idRecord{rec("u2", "a@x.io", "", "", "")}, existing, 10)
		require.Equal(t, []int64{10}, res.recordProfile)
		require.Equal(t, []resolvedIdentity{{kind: KindUserID, value: "u2", line: 1, profileID: 10}}, res.newIdentities)
	})
	t.Run("chains collapse into one component", func(t *testing.T) {
		t.Parallel()
		res := resolve([]idRecord{
			rec("", "", "", "a1", ""),
			rec("", "", "+6681", "a2", ""),
			rec("", "", "+6681", "a1", ""),
		}, nil, 1)
		require.Equal(t, []int64{1, 1, 1}, res.recordProfile)
		require.Equal(t, []int64{1}, res.newProfiles)
	})
}
