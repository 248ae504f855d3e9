package journeys

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

// TestSendStepKeyWrittenOnce: a send whose key is already in the outbox is
// not queued again. The outbox search is narrowed to the new sends'
// instance range, so the keys already there belong to the first and the
// last instance of the step (the range's bounds), beside an older row of
// another journey outside it.
func TestSendStepKeyWrittenOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Channels = nil }) // sends stay in the outbox
	ids := e.crowd(5, "UTC")
	e.publish(oneEmail)
	enterAll(t, e, "once", ids)
	db := e.store.DB()
	type inst struct {
		id, pid int64
		seq     int
		slot    time.Time
	}
	var all []inst
	require.NoError(t, eachRow(e.ctx, db, `SELECT id, profile_id, seq, slot FROM journey_instances WHERE journey = 'once' ORDER BY id`, nil, func(rows *sql.Rows) error {
		var in inst
		err := rows.Scan(&in.id, &in.pid, &in.seq, &in.slot)
		all = append(all, in)
		return err
	}))
	require.Len(t, all, 5)
	keyOf := func(in inst) string {
		return channels.NewIdempotencyKey("once", 1, fmt.Sprintf("hello#%d/%d", in.seq, in.id), in.pid, in.slot)
	}
	written := []inst{all[0], all[4]}
	for i, in := range written {
		_, err := db.ExecContext(e.ctx, `INSERT INTO journey_outbox VALUES (?, ?, ?, 'once', 1, 'hello', ?, 'email', 'welcome', NULL, 'marketing', true, ?)`,
			i+1, keyOf(in), in.id, in.pid, t0)
		require.NoError(t, err)
	}
	_, err := db.ExecContext(e.ctx, `INSERT INTO journey_outbox VALUES (3, 'ik1_older', 0, 'gone', 1, 'hello', ?, 'email', 'welcome', NULL, 'marketing', true, ?)`, all[0].pid, t0)
	require.NoError(t, err)

	res := e.run()
	require.Equal(t, 5, res.Queued, "%+v", res)
	var rows, keys int
	require.NoError(t, db.QueryRowContext(e.ctx, `SELECT count(*), count(DISTINCT idem_key) FROM journey_outbox WHERE journey = 'once'`).Scan(&rows, &keys))
	require.Equal(t, 5, rows, "one outbox row per instance")
	require.Equal(t, 5, keys)
	for _, in := range all {
		var n int
		require.NoError(t, db.QueryRowContext(e.ctx, `SELECT count(*) FROM journey_outbox WHERE idem_key = ? AND instance_id = ?`, keyOf(in), in.id).Scan(&n))
		require.Equal(t, 1, n, "instance %d", in.id)
	}
}
