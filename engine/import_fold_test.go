package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

func profilesTable(t *testing.T, s *engine.Store) string {
	t.Helper()
	var out string
	require.NoError(t, s.DB().QueryRowContext(context.Background(),
		`SELECT coalesce(list(p ORDER BY id)::VARCHAR, '') FROM profiles p`).Scan(&out))
	return out
}

// A profile with one contribution is written without ranking it (the fold
// of one row is that row): the same people imported with every line given
// twice, so that every profile folds several rows, give the same table.
func TestProfileFoldOfOneRowIsTheRow(t *testing.T) {
	t.Parallel()
	lines := []string{
		"u1,ann@example.com,0812345678,Asia/Bangkok,35,pro,2026-10-01T00:00:00Z,true",
		"u2,,,,,,,",
		",bob@example.com,,Europe/Paris,,free,2026-09-01T10:00:00Z,",
		"u3,fam@example.com,,,41,,,false",
		"u4,fam@example.com,+66898765432,,,basic,2026-10-05T00:00:00Z,",
	}
	const head = "user_id,email,phone,timezone,age,plan,updated_at,vip\n"
	var twice []string
	for _, l := range lines {
		twice = append(twice, l, l)
	}
	once, _, _ := openStore(t)
	mustImport(t, once, engine.ImportProfiles, writeFile(t, "crm.csv", head+strings.Join(lines, "\n")+"\n"))
	double, _, _ := openStore(t)
	mustImport(t, double, engine.ImportProfiles, writeFile(t, "crm.csv", head+strings.Join(twice, "\n")+"\n"))
	got := profilesTable(t, once)
	require.Contains(t, got, "ann@example.com")
	require.Equal(t, profilesTable(t, double), got)
}
