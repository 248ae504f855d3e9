package journeys

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestQueuedMovesMatchApplyMoves: the send step moves its queued sends
// set-based from _jout (applyQueued: the columns such a move changes, then
// the ones it clears only where they are set) to exactly the
// instances and log rows apply_moves writes for the same moves, whatever
// an active instance carried (a quiet-hours hold, the start of a wait, an
// exit reason or a finish instant), to a next step or to the end; the
// instances not queued are left alone.
func TestQueuedMovesMatchApplyMoves(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, target string }{{"to the next step", "later"}, {"to the end", ""}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dump := func(setBased bool) string {
				e := newEnv(t, func(c *Config) { c.Channels = nil })
				ids := e.crowd(6, "UTC")
				e.publish(oneEmail)
				enterAll(t, e, "once", ids)
				db := e.store.DB()
				for i, set := range []string{
					`held_reason = 'quiet_hours'`,
					`wait_since = TIMESTAMP '2026-03-01 08:00:00'`,
					`exit_reason = 'stale'`,
					`finished_at = TIMESTAMP '2026-03-01 09:00:00'`,
					`held_reason = 'restricted', wait_since = TIMESTAMP '2026-03-01 10:00:00'`,
				} {
					_, err := db.ExecContext(e.ctx, `UPDATE journey_instances SET `+set+` WHERE profile_id = ?`, ids[i])
					require.NoError(t, err)
				}
				now := t0.Add(time.Hour)
				queued := ids[:5] // the last person is not queued
				require.NoError(t, e.r.write(e.ctx, func(tx *tx) error {
					if setBased {
						if err := tx.temp("_jout", "id BIGINT, idem_key VARCHAR, instance_id BIGINT, profile_id BIGINT"); err != nil {
							return err
						}
						if _, err := tx.exec(`INSERT INTO _jout SELECT id, 'k' || id, id, profile_id FROM journey_instances WHERE profile_id IN (` + intList(queued) + `)`); err != nil {
							return err
						}
						return applyQueued(tx, "once", 1, "hello", to(0, 0, "hello", c.target, now), now)
					}
					var moves []move
					if err := eachRow(e.ctx, tx.conn, `SELECT id, profile_id FROM journey_instances WHERE profile_id IN (`+intList(queued)+`) ORDER BY id`, nil, func(rows *sql.Rows) error {
						var id, pid int64
						if err := rows.Scan(&id, &pid); err != nil {
							return err
						}
						moves = append(moves, to(id, pid, "hello", c.target, now))
						return nil
					}); err != nil {
						return err
					}
					return e.r.applyMoves(tx, "once", 1, moves, now)
				}))
				var b []string
				b = append(b, queryLines(t, db, `SELECT * FROM journey_instances ORDER BY id`, nil)...)
				return strings.Join(append(b, queryLines(t, db, `SELECT * FROM journey_log ORDER BY ALL`, nil)...), "\n")
			}
			want := dump(false)
			// What the queued instances carried is gone with the move.
			require.NotContains(t, want, "quiet_hours")
			require.NotContains(t, want, "stale")
			require.Equal(t, want, dump(true))
		})
	}
}

// TestQueuedOutboxIDsFollowOn: the sends a step queues take the ids after
// the outbox's last one, dense and in instance order, skipping nobody for
// the people whose send was not queued; a second step's sends follow the
// first's.
func TestQueuedOutboxIDsFollowOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Channels = nil })
	ids := e.crowd(7, "UTC")
	e.withdraw(ids[2:3], "marketing", "email")
	for _, name := range []string{"first", "second"} {
		e.publish(strings.Replace(oneEmail, "name: once", "name: "+name, 1))
		enterAll(t, e, name, ids)
		e.run()
	}
	got := queryLines(t, e.store.DB(), `SELECT o.id, o.journey, i.profile_id FROM journey_outbox o JOIN journey_instances i ON i.id = o.instance_id ORDER BY o.id`, nil)
	var want []string
	n := 0
	for _, name := range []string{"first", "second"} {
		for k, pid := range ids {
			if k == 2 {
				continue // withdrawn: skipped, not queued
			}
			n++
			want = append(want, fmt.Sprintf("%d %s %d", n, name, pid))
		}
	}
	require.Equal(t, want, got)
}
