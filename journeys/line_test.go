package journeys

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/line"
	"github.com/tactcdp/tact/channels/line/linetest"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// lineUser is the LINE user id of test person i.
func lineUser(i int) string { return fmt.Sprintf("U%032x", i+1) }

// newLINEAdapter is the real LINE adapter against a loopback fake.
func newLINEAdapter(t *testing.T, fake *linetest.Server) *line.Adapter {
	t.Helper()
	ts, err := templates.LoadFS(fstest.MapFS{
		"hello.line.json": {Data: []byte("---\npurpose: marketing\n---\n[{\"type\": \"text\", \"text\": \"สวัสดี\"}]")},
		"again.line.json": {Data: []byte("---\npurpose: marketing\n---\n[{\"type\": \"text\", \"text\": \"อีกครั้ง\"}]")},
	})
	require.NoError(t, err)
	a, err := line.New(line.Config{ChannelAccessToken: linetest.Token, ProviderID: "2000000001", BaseURL: fake.URL(),
		Templates: ts, Concurrency: 2, Backoff: time.Millisecond, Sleep: func(context.Context, time.Duration) error { return nil }})
	require.NoError(t, err)
	return a
}

// linePeople imports n people with a LINE user id each, the given time
// zone and marketing/line consent; returns their ids in order.
func (e *env) linePeople(n int, tz string) []int64 {
	e.t.Helper()
	rows := make([]map[string]any, n)
	grants := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{"user_id": fmt.Sprintf("u%d", i), "line_user_id": lineUser(i), "timezone": tz}
		grants[i] = map[string]any{"line_user_id": lineUser(i), "purpose": "marketing", "channel": "line", "status": "granted", "timestamp": t0.Add(-time.Hour)}
	}
	_, err := e.store.ImportRows(e.ctx, engine.ImportProfiles, "test", rows)
	require.NoError(e.t, err)
	_, err = e.store.ImportRows(e.ctx, engine.ImportConsents, "test", grants)
	require.NoError(e.t, err)
	rs, err := e.store.DB().Query(`SELECT profile_id FROM identities WHERE kind = 'line_user_id' ORDER BY value`)
	require.NoError(e.t, err)
	defer rs.Close()
	var ids []int64
	for rs.Next() {
		var id int64
		require.NoError(e.t, rs.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(e.t, rs.Err())
	require.Len(e.t, ids, n)
	return ids
}

const lineHello = `
name: line-hello
purpose: marketing
entry: api
steps:
  - id: hello
    send: {channel: line, template: hello}
`

// TestLINESetBasedSendGoesOutInMulticastBatches: 10k people through a
// journey's LINE send reach LINE in multicasts of at most 500, each person
// once, with no push.
func TestLINESetBasedSendGoesOutInMulticastBatches(t *testing.T) {
	t.Parallel()
	fake := linetest.New(t)
	e := newEnv(t, func(c *Config) {
		c.Channels = append(c.Channels, newLINEAdapter(t, fake))
		c.BatchSize = 2000 // the adapter, not the runner, cuts the multicasts
	})
	const n = 10000
	ids := e.linePeople(n, "Asia/Bangkok")
	e.publish(lineHello)
	enterAll(t, e, "line-hello", ids)
	res := e.run()
	require.Equal(t, n, res.Sent)

	calls, delivered, sizes := fake.Snapshot()
	require.Zero(t, calls[linetest.PathPush])
	require.Len(t, delivered, n)
	for u, c := range delivered {
		require.Equal(t, 1, c, u)
	}
	total := 0
	for _, s := range sizes {
		require.LessOrEqual(t, s, line.MaxMulticast)
		total += s
	}
	require.Equal(t, n, total)
	require.GreaterOrEqual(t, len(sizes), n/line.MaxMulticast)
}

// TestLINECrashBetweenAcceptanceAndResultSendsOnce: LINE accepted the
// multicast but the outbox never got its result (the state a crash between
// the provider's answer and the result write leaves: the rows are due
// again); a new runner over the same outbox sends again with the same
// retry key, LINE answers 409, and nobody gets a second message.
func TestLINECrashBetweenAcceptanceAndResultSendsOnce(t *testing.T) {
	t.Parallel()
	fake := linetest.New(t)
	a := newLINEAdapter(t, fake)
	e := newEnv(t, func(c *Config) { c.Channels = append(c.Channels, a) })
	ids := e.linePeople(30, "Asia/Bangkok")
	e.publish(lineHello)
	enterAll(t, e, "line-hello", ids)
	require.Equal(t, 30, e.run().Sent)
	require.Equal(t, 1, fake.Accepted())
	_, err := e.store.DB().Exec(`DELETE FROM journey_results WHERE outbox_id IN (SELECT id FROM journey_outbox WHERE channel = 'line')`)
	require.NoError(t, err)

	restarted, err := New(e.store, Config{Channels: []channels.Channel{a}, Sleep: func(context.Context, time.Duration) error { return nil }})
	require.NoError(t, err)
	res, err := restarted.RunUntilIdle(context.Background(), "")
	require.NoError(t, err)
	require.Equal(t, 30, res.Sent, "delivered: LINE answered 409 for the accepted retry key")
	require.Equal(t, 1, fake.Accepted(), "no second acceptance")
	calls, delivered, _ := fake.Snapshot()
	require.Equal(t, 2, calls[linetest.PathMulticast], "the resend reached LINE")
	require.Len(t, delivered, 30)
	for u, c := range delivered {
		require.Equal(t, 1, c, u)
	}
}

// TestLINEUnfollowStopsTheNextSend: a suppression of the LINE user (what
// the webhook records on unfollow) between two sends stops the second with
// reason suppressed; the other person still gets both.
func TestLINEUnfollowStopsTheNextSend(t *testing.T) {
	t.Parallel()
	fake := linetest.New(t)
	e := newEnv(t, func(c *Config) { c.Channels = append(c.Channels, newLINEAdapter(t, fake)) })
	ids := e.linePeople(2, "Asia/Bangkok")
	e.publish(`
name: line-two
purpose: marketing
entry: api
steps:
  - id: first
    send: {channel: line, template: hello}
    next: pause
  - id: pause
    wait: {duration: 1h}
    next: second
  - id: second
    send: {channel: line, template: again}
`)
	enterAll(t, e, "line-two", ids)
	e.run()
	require.NoError(t, e.store.Suppress(e.ctx, engine.KindLINEUserID, lineUser(0), "unfollow", "line_webhook"))
	e.advance(2 * time.Hour)
	_, delivered, _ := fake.Snapshot()
	require.Equal(t, 1, delivered[lineUser(0)], "only the first message")
	require.Equal(t, 2, delivered[lineUser(1)])
	require.Equal(t, 1, e.logCount("line-two", "second", "skipped", "suppressed"))
}

// TestLINEQuietHoursAndCaps: the send policy applies to LINE per channel
// like SMS: held inside quiet hours in the person's zone, and a second
// marketing message on the same local day skipped by the cap.
func TestLINEQuietHoursAndCaps(t *testing.T) {
	t.Parallel()
	fake := linetest.New(t)
	e := newEnv(t, func(c *Config) {
		c.Channels = append(c.Channels, newLINEAdapter(t, fake))
		c.Policy.Caps = map[string]int{"line": 1}
	})
	bkk := e.linePeople(1, "Asia/Bangkok") // 09:00 UTC = 16:00 in Bangkok
	_, err := e.store.ImportRows(e.ctx, engine.ImportProfiles, "test", []map[string]any{{"user_id": "ny", "line_user_id": lineUser(7), "timezone": "America/New_York"}})
	require.NoError(t, err)
	ny, err := e.store.ResolveUser(e.ctx, "ny") // 04:00 in New York
	require.NoError(t, err)
	require.NoError(t, e.store.RecordConsent(e.ctx, engine.ConsentInput{ProfileID: ny, Purpose: "marketing", Channel: "line", Status: consent.Granted, Source: "test"}))
	e.publish(lineHello)
	e.publish(`
name: line-again
purpose: marketing
entry: api
steps:
  - id: again
    send: {channel: line, template: again}
`)
	enterAll(t, e, "line-hello", []int64{bkk[0], ny})
	e.run()
	require.Equal(t, 1, e.logCount("line-hello", "hello", "held", "quiet_hours"))
	_, delivered, _ := fake.Snapshot()
	require.Equal(t, 1, delivered[lineUser(0)])
	require.Zero(t, delivered[lineUser(7)], "held until 08:00 in New York")

	enterAll(t, e, "line-again", bkk)
	e.run()
	require.Equal(t, 1, e.logCount("line-again", "again", "skipped", "frequency_cap"))
	_, delivered, _ = fake.Snapshot()
	require.Equal(t, 1, delivered[lineUser(0)])
}
