package journeys

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

// TestDispatchPagesMatchOnePage: dispatch reads the outbox in pages, the
// next one while the current one's batches are sent. Sending through many
// small pages (each read ahead) writes exactly what one page holding the
// whole outbox writes: results, log, suppressions, marks and the order of
// the provider calls, through retries and a hard bounce whose suppression
// skips the person's next send.
func TestDispatchPagesMatchOnePage(t *testing.T) {
	t.Parallel()
	run := func(pageSize int) (string, []string) {
		e := newEnv(t, func(c *Config) { c.PageSize, c.BatchSize = pageSize, 3 })
		ids := e.crowd(40, "")
		retried := map[string]bool{}
		e.chans["email"].fail = func(m channels.Message) *channels.Result {
			switch {
			case m.To == "u11@example.com":
				r := channels.Permanent("bounce", errors.New("550 no such user"))
				r.Suppress = true
				return &r
			case m.ProfileID%7 == 0 && !retried[m.IdempotencyKey]:
				retried[m.IdempotencyKey] = true
				r := channels.Transient("busy", errors.New("421 try later"))
				return &r
			}
			return nil
		}
		e.publish(`
name: paged
purpose: marketing
entry: api
steps:
  - id: hello
    send: {channel: email, template: welcome}
  - id: later
    wait: {duration: 1h}
  - id: again
    send: {channel: email, template: welcome}
`)
		entries := make([]APIEntry, len(ids))
		for i, id := range ids {
			entries[i] = APIEntry{ProfileID: id}
		}
		_, err := e.r.Trigger(e.ctx, "paged", entries)
		require.NoError(t, err)
		e.run()
		for range 4 {
			e.advance(time.Hour)
		}
		var sent []string
		for _, m := range e.chans["email"].sent() {
			sent = append(sent, m.IdempotencyKey)
		}
		return dumpTables(t, e, map[string]string{
			"journey_outbox":   "SELECT * FROM journey_outbox ORDER BY id",
			"journey_results":  "SELECT * FROM journey_results ORDER BY outbox_id, attempt",
			"journey_log":      "SELECT * FROM journey_log ORDER BY ALL",
			"journey_inflight": "SELECT * FROM journey_inflight ORDER BY ALL",
			// Address hashes are keyed per store: not compared.
			"suppressions": "SELECT * EXCLUDE (addr_hash) FROM suppressions ORDER BY ALL",
			"instances":    "SELECT * FROM journey_instances ORDER BY id",
		}), sent
	}
	oneDump, oneSent := run(1 << 20)
	pagedDump, pagedSent := run(4)
	require.Equal(t, oneSent, pagedSent)
	require.Equal(t, oneDump, pagedDump)
	require.Contains(t, oneDump, "transient")
	require.Contains(t, oneDump, "failed bounce")
	require.Contains(t, oneDump, "again 12 12 skipped suppressed")
}

// dumpTables renders the rows of each named query, for comparing two
// databases.
func dumpTables(t *testing.T, e *env, queries map[string]string) string {
	t.Helper()
	var b strings.Builder
	for _, name := range []string{"journey_outbox", "journey_results", "journey_log", "journey_inflight", "suppressions", "instances"} {
		fmt.Fprintf(&b, "== %s\n", name)
		for _, line := range queryLines(t, e.store.DB(), queries[name], nil) {
			fmt.Fprintln(&b, line)
		}
	}
	return b.String()
}

// TestPrefetchPanicIsThePagesError: a panic while a page is read ahead is
// that page's error (a PanicError, as a panic in dispatch itself), not a
// crash of the process from a goroutine nobody recovers.
func TestPrefetchPanicIsThePagesError(t *testing.T) {
	t.Parallel()
	r := &Runner{cfg: Config{PageSize: 10}} // no database, no clock: the read panics
	page := <-r.prefetch(t.Context(), []string{"email"}, "", -1)
	var pe *PanicError
	require.ErrorAs(t, page.err, &pe)
	require.Empty(t, page.rows)
}
