package journeys

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
)

// TestSendStepRows: what a send step writes, column by column: the outbox
// rows of the allowed sends (key, instance, person and the step's shared
// values), each instance's move (a queued send moves on and a hold it had
// is cleared; a restriction holds; a withdrawal skips and ends) and the
// journey log. It pins the set-based write (the shared values bound once,
// the queued sends' moves filled in from the outbox rows) to what the
// per-row write gave.
func TestSendStepRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Channels = nil }) // sends stay in the outbox
	ids := e.crowd(4, "UTC")
	e.publish(oneEmail)
	e.publish(`
name: then
purpose: marketing
entry: api
steps:
  - id: hello
    send: {channel: email, template: welcome}
  - id: pause
    wait: {duration: 30d}
`)
	enterAll(t, e, "once", ids)
	enterAll(t, e, "then", ids)
	db := e.store.DB()
	e.withdraw(ids[1:2], "marketing", "email")
	_, err := e.store.Restrict(e.ctx, "u2", engine.PrivacyOptions{})
	require.NoError(t, err)
	_, err = db.ExecContext(e.ctx, `UPDATE journey_instances SET held_reason = 'quiet_hours' WHERE profile_id = ?`, ids[3])
	require.NoError(t, err)
	type inst struct {
		id   int64
		seq  int
		slot time.Time
	}
	before := map[string]inst{}
	rows, err := db.QueryContext(e.ctx, `SELECT journey, profile_id, id, seq, slot FROM journey_instances`)
	require.NoError(t, err)
	for rows.Next() {
		var j string
		var pid int64
		var in inst
		require.NoError(t, rows.Scan(&j, &pid, &in.id, &in.seq, &in.slot))
		before[fmt.Sprint(j, pid)] = in
	}
	require.NoError(t, rows.Err())
	rows.Close()
	now := e.clk.Now()
	e.run()

	lines := func(query string) []string {
		rows, err := db.QueryContext(e.ctx, query)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out = append(out, s)
		}
		require.NoError(t, rows.Err())
		return out
	}
	var wantOutbox, wantInst, wantLog []string
	for _, j := range []string{"once", "then"} {
		for k, pid := range ids {
			in := before[fmt.Sprint(j, pid)]
			switch k {
			case 0, 3:
				key := channels.NewIdempotencyKey(j, 1, fmt.Sprintf("hello#%d/%d", in.seq, in.id), pid, in.slot)
				wantOutbox = append(wantOutbox, fmt.Sprintf("%s|%d|%s|1|hello|%d|email|welcome|NULL|marketing|true|%s", key, in.id, j, pid, now.Format("2006-01-02 15:04:05")))
				if j == "once" {
					wantInst = append(wantInst, fmt.Sprintf("%s|%d|hello|%d|completed|NULL|NULL|%s", j, pid, in.seq+1, now.Format("2006-01-02 15:04:05")))
					wantLog = append(wantLog, fmt.Sprintf("%s|%d|%d|hello|completed|NULL|NULL", j, pid, in.id))
				} else {
					wantInst = append(wantInst, fmt.Sprintf("%s|%d|pause|%d|active|NULL|NULL|NULL", j, pid, in.seq+1))
					wantLog = append(wantLog, fmt.Sprintf("%s|%d|%d|pause|step|NULL|NULL", j, pid, in.id))
				}
			case 1:
				wantInst = append(wantInst, fmt.Sprintf("%s|%d|hello|%d|exited|withdrawn|NULL|%s", j, pid, in.seq+1, now.Format("2006-01-02 15:04:05")))
				wantLog = append(wantLog, fmt.Sprintf("%s|%d|%d|hello|exited|withdrawn|NULL", j, pid, in.id),
					fmt.Sprintf("%s|%d|%d|hello|skipped|withdrawn|NULL", j, pid, in.id)) // the sweep before the step
			case 2:
				wantInst = append(wantInst, fmt.Sprintf("%s|%d|hello|%d|active|NULL|restricted|NULL", j, pid, in.seq))
				wantLog = append(wantLog, fmt.Sprintf("%s|%d|%d|hello|held|restricted|NULL", j, pid, in.id))
			}
		}
	}
	require.ElementsMatch(t, wantOutbox, lines(`SELECT concat_ws('|', idem_key, instance_id, journey, version, step, profile_id, channel, template,
  coalesce(url, 'NULL'), purpose, marketing, strftime(created_at, '%Y-%m-%d %H:%M:%S')) FROM journey_outbox`))
	require.ElementsMatch(t, wantInst, lines(`SELECT concat_ws('|', journey, profile_id, step, seq, status, coalesce(exit_reason, 'NULL'),
  coalesce(held_reason, 'NULL'), coalesce(strftime(finished_at, '%Y-%m-%d %H:%M:%S'), 'NULL')) FROM journey_instances`))
	require.ElementsMatch(t, wantLog, lines(`SELECT concat_ws('|', journey, profile_id, instance_id, step, kind, coalesce(reason, 'NULL'), coalesce(channel, 'NULL'))
FROM journey_log WHERE kind <> 'entered'`))
}
