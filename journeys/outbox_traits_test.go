package journeys

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPageTraitsMatchDatabaseSQL: the traits read with the outbox page
// (Arrow) are exactly what traitsOf reads through database/sql, for every
// trait type engine knows, NULLs and lists with NULL elements included;
// with a column of another type the page falls back to traitsOf.
func TestPageTraitsMatchDatabaseSQL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		extra  string // another column, of a type not read from Arrow
		inPage bool
	}{
		{name: "arrow", inPage: true},
		{name: "fallback", extra: "ALTER TABLE profiles ADD COLUMN birthday DATE", inPage: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) { c.Channels = nil }) // sends stay in the outbox
			ids := e.crowd(4, "UTC")
			db := e.store.DB()
			for _, stmt := range []string{
				`ALTER TABLE profiles ADD COLUMN score DOUBLE`,
				`ALTER TABLE profiles ADD COLUMN vip BOOLEAN`,
				`ALTER TABLE profiles ADD COLUMN last_order TIMESTAMP`,
				`ALTER TABLE profiles ADD COLUMN "odd ""name""" VARCHAR`,
				`ALTER TABLE profiles ADD COLUMN tags VARCHAR[]`,
				`ALTER TABLE profiles ADD COLUMN sizes BIGINT[]`,
				`ALTER TABLE profiles ADD COLUMN weights DOUBLE[]`,
				`ALTER TABLE profiles ADD COLUMN flags BOOLEAN[]`,
				`ALTER TABLE profiles ADD COLUMN small INTEGER`,
				`UPDATE profiles SET score = id * 1.5, vip = id % 2 = 0, last_order = TIMESTAMP '2026-01-02 03:04:05.123456' + INTERVAL (id) HOUR,
  "odd ""name""" = 'x' || id, tags = ['a', NULL, 'b' || id], sizes = [id, NULL], weights = [0.5], flags = [true, NULL, false], small = id::INTEGER
  WHERE id % 4 <> 0`,
				`UPDATE profiles SET first_name = NULL, ltv = NULL WHERE id % 4 = 0`,
			} {
				_, err := db.ExecContext(e.ctx, stmt)
				require.NoError(t, err, stmt)
			}
			if c.extra != "" {
				_, err := db.ExecContext(e.ctx, c.extra)
				require.NoError(t, err)
				_, err = db.ExecContext(e.ctx, `UPDATE profiles SET birthday = DATE '1990-05-06' WHERE id % 4 <> 0`)
				require.NoError(t, err)
			}
			e.publish(oneEmail)
			enterAll(t, e, "once", ids)
			e.run()

			traits, err := e.r.profileTraits(e.ctx)
			require.NoError(t, err)
			require.Equal(t, c.inPage, traits.inPage)
			page, err := e.r.loadOutbox(e.ctx, []string{"email"}, "", e.clk.Now(), -1)
			require.NoError(t, err)
			require.Len(t, page, len(ids))
			want, err := e.r.traitsOf(e.ctx, ids, traits.names)
			require.NoError(t, err)
			for _, o := range page {
				w := want[o.msg.ProfileID]
				require.Equal(t, w, o.msg.Traits, "profile %d", o.msg.ProfileID)
				fn, _ := w["first_name"].(string)
				require.Equal(t, fn, o.msg.ToName)
			}
			require.Empty(t, page[3].msg.Traits, "a person whose traits are all NULL has none")
		})
	}
}
