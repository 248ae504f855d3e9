package journeys

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// outboxDueAggregate is the page query as it was before the page's ids
// were chosen without aggregating results: every result after the cursor
// was aggregated per send. TestOutboxDueMatchesAggregate holds the current
// query to its answers.
const outboxDueAggregate = `
WITH page AS (
    SELECT o.*, coalesce(l.attempts, 0)::INTEGER AS attempts, coalesce(l.tries, 0)::INTEGER AS tries,
           EXISTS (SELECT 1 FROM journey_inflight f WHERE f.outbox_id = o.id) AS interrupted
    FROM journey_outbox o
    LEFT JOIN (SELECT outbox_id, max(attempt) AS attempts, count(*) FILTER (WHERE status <> 'held') AS tries,
                      arg_max(status, attempt) AS status, arg_max(next_attempt_at, attempt) AS next_at
               FROM journey_results WHERE outbox_id > ? GROUP BY outbox_id) l ON l.outbox_id = o.id
    WHERE o.id > ? AND (l.outbox_id IS NULL OR (l.status IN ('transient', 'held') AND l.next_at <= ?)) AND o.channel IN (%[3]s) %[4]s
    ORDER BY o.id
    LIMIT ?
)
SELECT o.idem_key, o.instance_id, o.journey, o.version, o.step, o.profile_id, o.channel, o.template, o.url,
       o.purpose, o.marketing, o.attempts, o.created_at, i.payload, %[1]s AS token, o.id, o.tries, o.interrupted, p.email, p.phone, p.timezone%[5]s
FROM page o
JOIN profiles p ON p.id = o.profile_id
LEFT JOIN journey_instances i ON i.id = o.instance_id
%[2]s
ORDER BY o.id`

// TestOutboxDueMatchesAggregate: on random outboxes (sends with no result,
// with results of every status over several attempts, due and not, some
// marked in flight), the page query returns exactly the rows, in the same
// order, that aggregating every result gave, for every cursor, channel
// set, journey filter and page size.
func TestOutboxDueMatchesAggregate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Channels = nil })
	ids := e.crowd(20, "UTC")
	db := e.store.DB()
	now := t0.Add(time.Hour)
	rng := rand.New(rand.NewPCG(16, 3))
	statuses := []string{"delivered", "transient", "held", "failed", "skipped"}
	const sends = 400
	for id := 1; id <= sends; id++ {
		journey := []string{"a", "b"}[rng.IntN(2)]
		channel := []string{"email", "sms", "email"}[rng.IntN(3)]
		_, err := db.ExecContext(e.ctx, `INSERT INTO journey_outbox VALUES (?, ?, ?, ?, 1, 'hello', ?, ?, 'welcome', NULL, 'marketing', true, ?)`,
			id, fmt.Sprintf("k%d", id), id, journey, ids[rng.IntN(len(ids))], channel, t0)
		require.NoError(t, err)
		attempts := rng.IntN(4)
		for a := 1; a <= attempts; a++ {
			status := statuses[rng.IntN(len(statuses))]
			var next any
			if status == "transient" || status == "held" {
				next = now.Add(time.Duration(rng.IntN(121)-60) * time.Minute)
			}
			_, err := db.ExecContext(e.ctx, `INSERT INTO journey_results VALUES (?, ?, ?, ?, ?, NULL, NULL)`, id, a, t0, status, next)
			require.NoError(t, err)
		}
		if rng.IntN(10) == 0 {
			_, err := db.ExecContext(e.ctx, `INSERT INTO journey_inflight VALUES (?, ?)`, id, t0)
			require.NoError(t, err)
		}
	}
	traits, err := e.r.profileTraits(e.ctx)
	require.NoError(t, err)
	seen := 0
	for _, names := range [][]string{{"email"}, {"email", "sms"}} {
		for _, only := range []string{"", "a"} {
			for _, cursor := range []int64{-1, 0, 137, sends - 5, sends} {
				for _, pageSize := range []int{3, 50, 1000} {
					name := fmt.Sprintf("%v/%q/after %d/page %d", names, only, cursor, pageSize)
					query, args := outboxQuery(names, only, now, cursor, pageSize, traits.selectList())
					got := queryLines(t, db, query, args)
					want := queryLines(t, db, aggregateQuery(names, only, traits.selectList()), aggregateArgs(names, only, now, cursor, pageSize))
					require.Equal(t, want, got, name)
					seen += len(got)
				}
			}
		}
	}
	require.Greater(t, seen, 1000, "the cases select rows")
}

// aggregateQuery is outboxDueAggregate completed as outboxQuery completes
// the current query (channels without several addresses only).
func aggregateQuery(names []string, only, traits string) string {
	filter := ""
	if only != "" {
		filter = "AND o.journey = ?"
	}
	ph := strings.TrimSuffix(strings.Repeat("?,", len(names)), ",")
	return fmt.Sprintf(outboxDueAggregate, "NULL::VARCHAR", "", ph, filter, traits)
}

func aggregateArgs(names []string, only string, now time.Time, cursor int64, pageSize int) []any {
	args := []any{cursor, cursor, now}
	for _, n := range names {
		args = append(args, n)
	}
	if only != "" {
		args = append(args, only)
	}
	return append(args, pageSize)
}

// queryLines renders every row of a query, in order.
func queryLines(t *testing.T, db *sql.DB, query string, args []any) []string {
	t.Helper()
	var out []string
	require.NoError(t, eachRow(t.Context(), db, query, args, func(rows *sql.Rows) error {
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		out = append(out, strings.TrimSuffix(fmt.Sprintln(vals...), "\n")) // spaces between all values
		return nil
	}))
	return out
}
