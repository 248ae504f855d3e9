package journeys

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"time"

	"github.com/tactcdp/tact/channels"
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
	channel     string
	phone       string // for the send policy's zones
	interrupted bool   // in flight when a process died (journey_inflight)
}

// dispatch sends every due outbox row (pending: never tried or in flight
// when a previous process died; transient: retry due) through its channel,
// in pages and channel batches. Each batch is marked in flight before its
// provider call, in the transaction that writes the previous batch's
// results (inflight.go), so a crash resends at most the one batch that was
// in flight, with the same idempotency keys; the last batch's results are
// written before dispatch returns, whatever happened.
func (r *Runner) dispatch(ctx context.Context, only string) (res TickResult, err error) {
	if len(r.chans) == 0 {
		return res, nil
	}
	// held is a batch's results waiting to be written with the next
	// batch's in-flight marks, one commit instead of two.
	var held *writeBack
	defer func() {
		if werr := r.writeResults(ctx, held); werr != nil {
			err = errors.Join(err, werr)
		}
	}()
	names := make([]string, 0, len(r.chans))
	for n := range r.chans {
		names = append(names, n)
	}
	sort.Strings(names)
	// The next page is read while this one's batches are at their
	// providers (prefetch). Its rows all come after the cursor, so nothing
	// this page writes (results, marks, resent logs: all at or before the
	// cursor) changes what it reads; what a batch's feedback changes about
	// a person the gate re-decides before their provider call, as for a
	// later row of the same page.
	pending := r.prefetch(ctx, names, only, -1)
	defer func() {
		if pending != nil {
			<-pending // no query outlives dispatch
		}
	}()
	for page := 0; page < 10000; page++ {
		got := <-pending
		pending = nil
		r.tracef("loadOutbox", got.start)
		if got.err != nil {
			return res, got.err
		}
		rows := got.rows
		if len(rows) == 0 {
			return res, nil
		}
		if len(rows) == r.cfg.PageSize {
			pending = r.prefetch(ctx, names, only, rows[len(rows)-1].id)
		}
		byChannel, order := groupByChannel(rows)
		for _, c := range order {
			list := byChannel[c]
			for off := 0; off < len(list); off += r.cfg.BatchSize {
				end := min(off+r.cfg.BatchSize, len(list))
				br, later, err := r.sendBatch(ctx, c, list[off:end], held)
				held = later
				res.add(br)
				if err != nil {
					return res, err
				}
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
			}
		}
		if pending == nil {
			return res, nil
		}
	}
	return res, nil
}

// outboxPage is one page of the outbox read ahead by prefetch.
type outboxPage struct {
	rows  []outRow
	err   error
	start time.Time // when the read began (Config.Trace)
}

// prefetch reads the page after cursor in the background, at the instant
// the read begins; the channel yields it once. A panic in the read is the
// page's error, as it was the tick's when dispatch read the page itself.
func (r *Runner) prefetch(ctx context.Context, names []string, only string, cursor int64) <-chan outboxPage {
	out := make(chan outboxPage, 1)
	go func() {
		p := outboxPage{start: time.Now()}
		defer func() {
			if v := recover(); v != nil {
				p.rows, p.err = nil, &PanicError{Value: fmt.Sprint(v), Stack: string(debug.Stack())}
			}
			out <- p
		}()
		p.rows, p.err = r.loadOutbox(ctx, names, only, r.now(), cursor)
	}()
	return out
}

// groupByChannel splits a page by channel, in order of first appearance,
// keeping outbox order within each; a page on one channel is used as it is.
func groupByChannel(rows []outRow) (map[string][]outRow, []string) {
	counts := map[string]int{}
	var order []string
	for _, o := range rows {
		if counts[o.channel] == 0 {
			order = append(order, o.channel)
		}
		counts[o.channel]++
	}
	if len(order) == 1 {
		return map[string][]outRow{order[0]: rows}, order
	}
	by := make(map[string][]outRow, len(order))
	for _, c := range order {
		by[c] = make([]outRow, 0, counts[c])
	}
	for _, o := range rows {
		by[o.channel] = append(by[o.channel], o)
	}
	return by, order
}

// sendBatch passes one batch through the gate and its channel: the sends
// the gate and the policy allow are marked in flight, handed to the
// channel, and the whole batch's results written back. prev, the previous
// batch's results when they are not written yet, is written with this
// batch's marks, or first when this batch marks nothing. The results come
// back unwritten (later) when they say nothing about addresses: the next
// batch's marks carry them, and nothing read before that depends on them
// (a retry's policy reads the recent sends, so it writes prev first).
// Results with feedback are written and applied at once, before the next
// batch's gate, as the feedback must precede it.
func (r *Runner) sendBatch(ctx context.Context, channel string, batch []outRow, prev *writeBack) (res TickResult, later *writeBack, err error) {
	// Whatever fails, prev goes back to the caller, which writes it.
	defer func() {
		if err != nil && prev != nil {
			later = prev
		}
	}()
	// Commits through the store from here on (an erasure among them) make
	// the results' write check that the batch's instances still exist.
	epoch := r.store.WriteEpoch()
	since := batch[0].createdAt
	for _, o := range batch {
		if o.createdAt.Before(since) {
			since = o.createdAt
		}
	}
	gt := time.Now()
	if err := r.gate.prepare(ctx, channel, since, batch); err != nil {
		return res, nil, err
	}
	r.tracef("gate.prepare", gt)
	results := make([]channels.Result, len(batch))
	holds := map[int]time.Time{}
	// Sized once: a Message is a few hundred bytes, and growing by doubling
	// copied each several times.
	send := make([]channels.Message, 0, len(batch))
	idx := make([]int, 0, len(batch))
	var retries []int
	for i, o := range batch {
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
		// hours, the cap and the holdout again at this instant, with every
		// earlier result written (a failed or skipped send is no send).
		if err := r.writeResults(ctx, prev); err != nil {
			return res, nil, err
		}
		prev = nil
		decided, err := r.retryPolicy(ctx, channel, batch, retries)
		if err != nil {
			return res, nil, err
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
		resent, err := r.markInFlight(ctx, channel, batch, idx, prev)
		if err != nil {
			return res, nil, err
		}
		prev = nil
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
	if err := r.writeResults(ctx, prev); err != nil {
		return res, nil, err
	}
	prev = nil
	wb := r.batchResults(channel, batch, results, holds, &res)
	wb.epoch = epoch
	if len(send) == 0 || len(wb.feedback.msgs) > 0 {
		return res, nil, r.writeResults(ctx, &wb)
	}
	return res, &wb, nil
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
