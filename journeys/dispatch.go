package journeys

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/eligibility"
)

// outRow is one outbox row due for a provider call.
type outRow struct {
	msg         channels.Message
	instance    int64
	id          int64
	attempts    int // results so far (provider calls and holds)
	tries       int // provider calls so far
	createdAt   time.Time
	phone       string // for the send policy's zones
	interrupted bool   // in flight when a process died (journey_inflight)
}

// dispatch sends every due outbox row (pending: never tried or in flight
// when a previous process died; transient: retry due) through its channel,
// in pages and channel batches. Each batch is marked in flight before its
// provider call and its results are written right after the call returns
// (inflight.go), so a crash resends at most the one batch that was in
// flight, with the same idempotency keys.
func (r *Runner) dispatch(ctx context.Context, only string) (TickResult, error) {
	var res TickResult
	if len(r.chans) == 0 {
		return res, nil
	}
	names := make([]string, 0, len(r.chans))
	for n := range r.chans {
		names = append(names, n)
	}
	sort.Strings(names)
	cursor := int64(-1)
	for page := 0; page < 10000; page++ {
		now := r.now()
		lt := time.Now()
		rows, err := r.loadOutbox(ctx, names, only, now, cursor)
		r.tracef("loadOutbox", lt)
		if err != nil {
			return res, err
		}
		if len(rows) == 0 {
			return res, nil
		}
		byChannel := map[string][]outRow{}
		var order []string
		cursor = rows[len(rows)-1].id
		for _, o := range rows {
			c := channelOf(o)
			if _, ok := byChannel[c]; !ok {
				order = append(order, c)
			}
			byChannel[c] = append(byChannel[c], o)
		}
		for _, c := range order {
			list := byChannel[c]
			for off := 0; off < len(list); off += r.cfg.BatchSize {
				end := min(off+r.cfg.BatchSize, len(list))
				br, err := r.sendBatch(ctx, c, list[off:end])
				res.add(br)
				if err != nil {
					return res, err
				}
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
			}
		}
		if len(rows) < r.cfg.PageSize {
			return res, nil
		}
	}
	return res, nil
}

// channelOf is the channel an outbox row goes through (kept in the
// message's Step-independent field set by loadOutbox).
func channelOf(o outRow) string { return o.msg.Traits["\x00channel"].(string) }

func (r *Runner) loadOutbox(ctx context.Context, names []string, only string, now time.Time, cursor int64) ([]outRow, error) {
	ph := strings.TrimSuffix(strings.Repeat("?,", len(names)), ",")
	filter := ""
	args := []any{cursor, cursor, now}
	for _, n := range names {
		args = append(args, n)
	}
	if only != "" {
		filter = "AND o.journey = ?"
		args = append(args, only)
	}
	args = append(args, r.cfg.PageSize)
	// Channels with several addresses (push, line) send to the address the
	// eligibility decision picks (eligibility.UsableAddressSQL), or, when
	// every one is suppressed, to the newest, which the gate refuses as
	// suppressed.
	var joins, tokens []string
	for i, n := range names {
		kind := eligibility.AddressKind(n)
		if kind == "" || eligibility.OneAddress(kind) {
			continue
		}
		a := fmt.Sprintf("addr%d", i)
		joins = append(joins, fmt.Sprintf("LEFT JOIN (%s) %s ON %s.profile_id = o.profile_id AND o.channel = '%s'",
			eligibility.UsableAddressSQL("(SELECT profile_id AS id FROM page)"), a, a, n))
		tokens = append(tokens, fmt.Sprintf("WHEN '%[1]s' THEN coalesce(%[2]s.usable, %[2]s.held)", n, a))
		args = append(args, kind)
	}
	tokenCol := "NULL::VARCHAR"
	if len(tokens) > 0 {
		tokenCol = "CASE o.channel " + strings.Join(tokens, " ") + " END"
	}
	join := strings.Join(joins, "\n")
	rows, err := r.db.QueryContext(ctx, fmt.Sprintf(q("outbox_due"), tokenCol, join, ph, filter), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	const fixed = 18
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	system := map[string]bool{}
	for _, c := range engine.ProfileColumns() {
		system[c] = true
	}
	var out []outRow
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].id == vals[15].(int64) {
			continue // a duplicated row (rows are in id order): one send per id
		}
		str := func(i int) string {
			if s, ok := vals[i].(string); ok {
				return s
			}
			return ""
		}
		o := outRow{instance: vals[1].(int64), attempts: int(vals[11].(int32)), createdAt: vals[12].(time.Time), id: vals[15].(int64), tries: int(vals[16].(int32)),
			interrupted: vals[17].(bool)}
		m := channels.Message{
			IdempotencyKey: str(0),
			Journey:        str(2),
			JourneyVersion: int(vals[3].(int32)),
			Step:           str(4),
			ProfileID:      vals[5].(int64),
			Template:       str(7),
			Purpose:        str(9),
			Transactional:  !vals[10].(bool),
			Traits:         map[string]any{},
		}
		channel, url, payload, token := str(6), str(8), str(13), str(14)
		if payload != "" {
			_ = json.Unmarshal([]byte(payload), &m.Payload)
		}
		kind := eligibility.AddressKind(channel)
		for i := fixed; i < len(cols); i++ {
			c := cols[i]
			switch c {
			case kind: // email, phone: one address, on the profile row
				m.To = str(i)
			case "timezone":
				m.Timezone = str(i)
			}
			if c == engine.KindPhone {
				o.phone = str(i)
			}
			if !system[c] && vals[i] != nil {
				m.Traits[c] = plain(vals[i])
			}
		}
		switch {
		case channel == channels.Webhook:
			m.To = url
		case kind != "" && !eligibility.OneAddress(kind):
			m.To = token
		}
		if fn, ok := m.Traits["first_name"].(string); ok {
			m.ToName = fn
		}
		m.Traits["\x00channel"] = channel
		o.msg = m
		out = append(out, o)
	}
	return out, rows.Err()
}

// sendBatch passes one batch through the gate and its channel: the sends
// the gate and the policy allow are marked in flight, handed to the
// channel, and the whole batch's results written back.
func (r *Runner) sendBatch(ctx context.Context, channel string, batch []outRow) (TickResult, error) {
	var res TickResult
	since := batch[0].createdAt
	for _, o := range batch {
		if o.createdAt.Before(since) {
			since = o.createdAt
		}
	}
	gt := time.Now()
	if err := r.gate.prepare(ctx, channel, since, batch); err != nil {
		return res, err
	}
	r.tracef("gate.prepare", gt)
	results := make([]channels.Result, len(batch))
	holds := map[int]time.Time{}
	var send []channels.Message
	var idx []int
	var retries []int
	for i, o := range batch {
		delete(o.msg.Traits, "\x00channel")
		batch[i] = o
		if rr, ok := channels.CheckGate(ctx, r.gate, channel, o.msg); !ok {
			results[i] = rr
			continue
		}
		if o.attempts > 0 && o.msg.Marketing() {
			retries = append(retries, i)
			continue
		}
		send = append(send, o.msg)
		idx = append(idx, i)
	}
	if len(retries) > 0 {
		// A retry is a new send as far as the policy goes: decide quiet
		// hours, the cap and the holdout again at this instant.
		decided, err := r.retryPolicy(ctx, channel, batch, retries)
		if err != nil {
			return res, err
		}
		for k, i := range retries {
			switch d := decided[k]; d.Reason {
			case "":
				send = append(send, batch[i].msg)
				idx = append(idx, i)
			case eligibility.QuietHours:
				holds[i] = d.HoldUntil
			default:
				results[i] = channels.Result{Status: channels.StatusSkipped, Reason: "gate:" + d.Reason}
			}
		}
		sort.Sort(byIndex{idx, send})
	}
	if len(send) > 0 {
		resent, err := r.markInFlight(ctx, channel, batch, idx)
		if err != nil {
			return res, err
		}
		res.Resent += resent
		st := time.Now()
		got := r.callChannel(ctx, channel, send)
		r.tracef("channel.Send", st)
		for k, i := range idx {
			if k < len(got) {
				results[i] = got[k]
			} else {
				results[i] = channels.Transient("channel", fmt.Errorf("channel returned %d results for %d messages", len(got), len(send)))
			}
		}
	}
	wb := r.batchResults(channel, batch, results, holds, &res)
	return res, r.writeResults(ctx, wb)
}

// callChannel hands send to the channel, spread over time when the channel
// has a rate limit: chunks of a tenth of a second's worth, each sent as
// soon as the limiter allows all of it. Messages the limiter never let
// through (ctx done) get a transient result, as channels.SendEach gives
// messages it never started.
func (r *Runner) callChannel(ctx context.Context, channel string, send []channels.Message) []channels.Result {
	ch := r.chans[channel]
	l := r.limits[channel]
	if l == nil {
		return ch.Send(ctx, send)
	}
	chunk := max(1, int(r.cfg.Policy.RatePerSecond[channel]/10))
	got := make([]channels.Result, 0, len(send))
	for off := 0; off < len(send); off += chunk {
		part := send[off:min(off+chunk, len(send))]
		for range part {
			if err := l.Wait(ctx); err != nil {
				for len(got) < len(send) {
					got = append(got, channels.Transient("context", err))
				}
				return got
			}
		}
		got = append(got, ch.Send(ctx, part)...)
	}
	return got
}

// backoff is the delay before retry attempt+1.
func (r *Runner) backoff(attempt int, hint time.Duration) time.Duration {
	d := r.cfg.RetryBase
	for i := 1; i < attempt && d < r.cfg.RetryMax; i++ {
		d *= 2
	}
	if d > r.cfg.RetryMax {
		d = r.cfg.RetryMax
	}
	if hint > d {
		d = hint
	}
	return d
}
