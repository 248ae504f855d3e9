package journeys

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
)

// ReasonInterrupted is the reason of a "resent" journey_log row: the send
// was in flight at its provider when a process died, so it is sent again
// with the same idempotency key (docs/journeys.md, Crash safety).
const ReasonInterrupted = "interrupted"

// markInFlight durably marks the sends of batch at idx as in flight (one
// Appender into journey_inflight, committed before the provider call) and
// logs those a crashed process had left in flight as resent, in the
// transaction that writes prev, the previous batch's results (nil: none
// held), so a batch costs one commit. It returns how many are resent.
func (r *Runner) markInFlight(ctx context.Context, channel string, batch []outRow, idx []int, prev *writeBack) (int, error) {
	now := r.now()
	at := driver.Value(now) // boxed once for every mark
	marks := make([][]driver.Value, 0, len(idx))
	cells := make([]driver.Value, 0, 2*len(idx))
	resent := newRowBuf(logWidth, 0)
	for _, i := range idx {
		o := batch[i]
		cells = append(cells, o.id, at)
		marks = append(marks, cells[len(cells)-2:])
		if o.interrupted {
			resent.log(now, o.msg.Journey, o.msg.JourneyVersion, o.msg.Step, o.msg.ProfileID, o.instance, "resent", ReasonInterrupted, channel)
		}
	}
	err := r.write(ctx, func(t *tx) error {
		// The previous batch's marks go before this batch's are added.
		if err := r.writeResultRows(t, prev); err != nil {
			return err
		}
		if err := t.appendRows("journey_inflight", marks); err != nil {
			return err
		}
		return t.appendRows("journey_log", resent.rows)
	})
	return len(resent.rows), err
}

// writeBack is one batch's results, ready to write.
type writeBack struct {
	ids       []int64 // every outbox row of the batch (their marks go)
	results   [][]driver.Value
	logs      *rowBuf
	withdrawn []int64
	feedback  resultFeedback
	// epoch is the store's WriteEpoch when the batch was decided, and
	// instLo, instHi bound its instances: see writeResultRows.
	epoch          uint64
	instLo, instHi int64
}

// resultFeedback is what a batch's results say about addresses (hard
// bounces, opt-outs, invalid tokens), applied through
// channels.ApplyResults once the results are written.
type resultFeedback struct {
	channel string
	at      time.Time
	msgs    []channels.Message
	results []channels.Result
}

// batchResults turns a batch's outcomes (results, or a hold until an
// instant) into result and log rows, counting them in res.
func (r *Runner) batchResults(channel string, batch []outRow, results []channels.Result, holds map[int]time.Time, res *TickResult) writeBack {
	now := r.now()
	at := driver.Value(now) // boxed once for every row
	const width = 7
	cells := make([]driver.Value, 0, width*len(batch))
	row := func(v ...driver.Value) []driver.Value {
		cells = append(cells, v...)
		return cells[len(cells)-width:]
	}
	wb := writeBack{ids: make([]int64, 0, len(batch)), results: make([][]driver.Value, 0, len(batch)), logs: newRowBuf(logWidth, len(batch)), feedback: resultFeedback{channel: channel, at: now}}
	wb.instLo, wb.instHi = math.MaxInt64, math.MinInt64
	for i, o := range batch {
		wb.ids = append(wb.ids, o.id)
		wb.instLo, wb.instHi = min(wb.instLo, o.instance), max(wb.instHi, o.instance)
		rs := results[i]
		status, reason, kind := "", rs.Reason, ""
		var next any
		attempt := o.attempts + 1
		if until, held := holds[i]; held {
			wb.results = append(wb.results, row(o.id, int32(attempt), at, "held", until, ReasonQuietHours, nil))
			res.Held++
			continue
		}
		switch rs.Status {
		case channels.StatusDelivered:
			status, kind = "delivered", "sent"
			res.Sent++
		case channels.StatusSkipped:
			status, kind = "skipped", "skipped"
			reason = strings.TrimPrefix(rs.Reason, "gate:")
			res.Skipped++
			if reason == ReasonWithdrawn {
				wb.withdrawn = append(wb.withdrawn, o.instance)
			}
		case channels.StatusPermanent:
			status, kind = "failed", "failed"
			res.Failed++
		default: // transient (or a zero Result: treat as transient)
			if o.tries+1 >= r.cfg.MaxAttempts {
				status, kind = "failed", "failed"
				res.Failed++
			} else {
				status = "transient"
				next = now.Add(r.backoff(attempt, rs.RetryAfter))
				res.Retried++
			}
		}
		if status == "failed" {
			res.failedFor(rs.Reason)
		}
		if reason == "" && rs.Err != nil && status != "delivered" {
			reason = rs.Err.Error()
		}
		if len(reason) > 200 {
			reason = reason[:200]
		}
		wb.results = append(wb.results, row(o.id, int32(attempt), at, boxedStatus(status), next, nullStr(reason), nullStr(rs.ProviderMessageID)))
		if kind != "" {
			logReason := ""
			if kind != "sent" {
				logReason = reason
			}
			wb.logs.log(now, o.msg.Journey, o.msg.JourneyVersion, o.msg.Step, o.msg.ProfileID, o.instance, kind, logReason, channel)
		}
		if rs.Suppress || rs.OptedOut || rs.TokenInvalid {
			wb.feedback.msgs = append(wb.feedback.msgs, o.msg)
			wb.feedback.results = append(wb.feedback.results, rs)
		}
	}
	return wb
}

// boxedStatus is a result status as a driver value without boxing it
// again (the constants are static).
func boxedStatus(status string) driver.Value {
	switch status {
	case "delivered":
		return "delivered"
	case "skipped":
		return "skipped"
	case "failed":
		return "failed"
	case "transient":
		return "transient"
	}
	return status
}

// writeResults writes a batch's results (nil: nothing to write) and
// clears its in-flight marks in one transaction, then applies their
// feedback (suppressions, opt-outs, dropped tokens) through
// channels.ApplyResults. It runs even when ctx is done: the provider has
// been called.
func (r *Runner) writeResults(ctx context.Context, wb *writeBack) error {
	if wb == nil || len(wb.results) == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	if err := r.write(ctx, func(t *tx) error { return r.writeResultRows(t, wb) }); err != nil || len(wb.feedback.msgs) == 0 {
		return err
	}
	// The results are durable; now what they say about addresses. An error
	// here is the tick's error (the journey shows unhealthy), never dropped:
	// a hard bounce that was not suppressed would be mailed again.
	f := wb.feedback
	if err := channels.ApplyResults(ctx, r.adapter, f.channel, f.msgs, f.results, f.at); err != nil {
		return fmt.Errorf("apply %s feedback: %w", f.channel, err)
	}
	return nil
}

// writeResultRows writes a batch's results and log rows in t (Appender
// and set-based statements), clears its in-flight marks (including marks a
// crashed process left on them) and ends the instances withdrawn since
// they were queued. Nothing for a nil wb.
func (r *Runner) writeResultRows(t *tx, wb *writeBack) error {
	if wb == nil || len(wb.results) == 0 {
		return nil
	}
	if err := t.appendRows("journey_results", wb.results); err != nil {
		return err
	}
	if r.store.WriteEpoch() == wb.epoch {
		if err := t.appendRows("journey_log", wb.logs.rows); err != nil {
			return err
		}
	} else if err := logRemaining(t, wb.logs.rows, wb.instLo, wb.instHi); err != nil {
		// Something was committed through the store since the batch was
		// decided, an erasure maybe: the log rows of instances it removed
		// would outlive it.
		return err
	}
	if _, err := t.exec(fmt.Sprintf(q("clear_inflight"), idRuns("outbox_id", wb.ids))); err != nil {
		return err
	}
	if len(wb.withdrawn) > 0 {
		if _, err := t.exec(fmt.Sprintf(q("end_withdrawn"), intList(wb.withdrawn)), r.now()); err != nil {
			return err
		}
	}
	return nil
}

// idRuns is an SQL condition true exactly for col in ids, as ranges of
// consecutive ids: a batch of the outbox (ids dense, in order) is one or
// a few ranges, where an IN list of a thousand literals cost more to plan
// than the delete. Only Go-formatted integers are spliced into SQL.
func idRuns(col string, ids []int64) string {
	if len(ids) == 0 {
		return "false"
	}
	var b []byte
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if i > 0 {
			b = append(b, " OR "...)
		}
		b = append(b, col...)
		b = append(b, " BETWEEN "...)
		b = strconv.AppendInt(b, ids[i], 10)
		b = append(b, " AND "...)
		b = strconv.AppendInt(b, ids[j], 10)
		i = j + 1
	}
	return string(b)
}
