package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestUpdateProfilesNeverCreatesAProfile: UpdateProfiles writes traits to
// the people it finds, and a row that names nobody (an erased person, an
// unknown id) refuses the whole batch, naming its line, with nothing
// written, where ImportRows would have created a profile.
func TestUpdateProfilesNeverCreatesAProfile(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", "user_id,email\nu1,u1@example.com\nu2,u2@example.com\n"))
	u1 := resolve(t, s, "u1")

	res, err := s.UpdateProfiles(ctx, "journey:welcome/tag", []map[string]any{{"user_id": "u1", "buyer": true}, {"email": "U2@example.com", "buyer": true}})
	require.NoError(t, err)
	require.Zero(t, res.ProfilesCreated)
	p, err := s.Profile(ctx, u1)
	require.NoError(t, err)
	require.Equal(t, true, p.Traits["buyer"])

	_, err = s.Erase(ctx, "u2", engine.EraseOptions{NoCompact: true})
	require.NoError(t, err)
	profiles := func() int {
		var n int
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM profiles`).Scan(&n))
		return n
	}
	before := profiles()
	_, err = s.UpdateProfiles(ctx, "journey:welcome/tag", []map[string]any{{"user_id": "u1", "vip": true}, {"email": "u2@example.com", "vip": true}})
	var unknown *engine.UnknownPersonError
	require.ErrorAs(t, err, &unknown)
	require.Equal(t, "journey:welcome/tag", unknown.File)
	require.Equal(t, 2, unknown.Line)
	require.Equal(t, before, profiles(), "the erased person is not brought back")
	p, err = s.Profile(ctx, u1)
	require.NoError(t, err)
	require.NotContains(t, p.Traits, "vip", "nothing of the refused batch is written")
}
