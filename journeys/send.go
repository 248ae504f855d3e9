package journeys

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine/eligibility"
)

// sendRow is an instance due at a send step with the person-level
// eligibility reason and what the send policy needs.
type sendRow struct {
	ID, PID   int64
	Seq       int
	Slot      time.Time
	TZ, Phone string
	Reason    string // the person-level reason ("" = may be contacted)
	Recent    []time.Time
}

// loadSendRows reads everyone due at a send step on channel with their
// person-level eligibility, decided set-based (engine.EligibilitySQL).
func (r *Runner) loadSendRows(ctx context.Context, spec *Spec, version int, st *Step, req eligibility.Request) ([]sendRow, error) {
	elig, eargs, err := r.store.EligibilitySQL(ctx, req, "people")
	if err != nil {
		return nil, err
	}
	args := append([]any{spec.Name, version, st.ID, req.At}, eargs...)
	zones, recent, joins := "NULL::VARCHAR, NULL::VARCHAR", "NULL::TIMESTAMP[]", ""
	if needZones, needRecent := r.policyReads(req); needZones {
		zones, joins = "pp.timezone, pp.phone", "JOIN people pp ON pp.id = d.profile_id"
		if needRecent {
			recent = "recent.sent"
			joins += "\nLEFT JOIN (" + fmt.Sprintf(q("recent_sends"), "SELECT profile_id FROM due", "-1") + ") recent ON recent.profile_id = d.profile_id"
			args = append(args, req.Channel, req.At.Add(-capWindow))
		}
	}
	var due []sendRow
	in := interner{}
	err = r.queryArrow(ctx, fmt.Sprintf(q("send_due"), elig, zones, recent, joins), args, func(n int) { due = make([]sendRow, 0, n) }, func(rec arrow.Record) error {
		var err error
		due, err = appendSendRows(due, rec, in)
		return err
	})
	return due, err
}

// policyReads says what the send policy reads about each person for req:
// their zones (quiet hours or a cap on the channel) and their recent sends
// (a cap). A transactional send, or a channel with neither, reads nothing:
// sending gives the same facts without them (no hold, no cap reached), so
// send_due leaves out their joins.
func (r *Runner) policyReads(req eligibility.Request) (zones, recent bool) {
	if req.Transactional() {
		return false, false
	}
	_, quiet := r.cfg.Policy.quiet(req.Channel)
	capped := r.cfg.Policy.Caps[req.Channel] > 0
	return quiet || capped, capped
}

// The columns of send_due, in order.
const (
	sendColID = iota
	sendColProfile
	sendColSeq
	sendColSlot
	sendColTimezone
	sendColPhone
	sendColReason
	sendColAddress
	sendColRecent
	sendCols
)

// appendSendRows turns one record batch of send_due into sendRows; zones
// and reasons, repeated down the step, are shared through in.
func appendSendRows(due []sendRow, rec arrow.Record, in interner) ([]sendRow, error) {
	if int(rec.NumCols()) != sendCols {
		return due, fmt.Errorf("send_due: %d columns, want %d", rec.NumCols(), sendCols)
	}
	var c [sendCols]column
	for i := range c {
		col, err := newColumn(rec.Column(i))
		if err != nil {
			return due, fmt.Errorf("send_due column %d: %w", i, err)
		}
		c[i] = col
	}
	for k := 0; k < int(rec.NumRows()); k++ {
		due = append(due, sendRow{
			ID: c[sendColID].int64(k), PID: c[sendColProfile].int64(k), Seq: int(c[sendColSeq].int64(k)), Slot: c[sendColSlot].time(k),
			TZ: in.get(c[sendColTimezone].str(k)), Phone: c[sendColPhone].unique(k), Reason: in.get(c[sendColReason].str(k)),
			Recent: c[sendColRecent].times(k),
		})
	}
	return due, nil
}

// timeList reads a DuckDB LIST of timestamps.
func timeList(v any) []time.Time {
	l, _ := v.([]any)
	out := make([]time.Time, 0, len(l))
	for _, x := range l {
		if t, ok := x.(time.Time); ok {
			out = append(out, t)
		}
	}
	return out
}

// capWindow reaches back past the start of any local day.
const capWindow = 50 * time.Hour

// sending computes the send policy's facts for one person at now.
func (r *Runner) sending(channel string, now time.Time, tz, phone string, recent []time.Time) eligibility.Sending {
	pol := &r.cfg.Policy
	zones := pol.zonesFor(tz, phone)
	return eligibility.Sending{
		HeldUntil:  pol.heldUntil(channel, now, zones),
		CapReached: capReached(pol.Caps[channel], now, zones[0], recent),
	}
}

// decideSends reads everyone due at a send step and decides each with the
// one eligibility decision: the person-level terms set-based, the send
// policy per row. It does no writing.
func (r *Runner) decideSends(ctx context.Context, spec *Spec, version int, st *Step, req eligibility.Request) ([]sendRow, []eligibility.Decision, error) {
	due, err := r.loadSendRows(ctx, spec, version, st, req)
	if err != nil {
		return nil, nil, err
	}
	pol := r.eligibilityPolicy()
	out := make([]eligibility.Decision, len(due))
	for k, s := range due {
		var sending eligibility.Sending
		if s.Reason == "" && !req.Transactional() {
			sending = r.sending(req.Channel, req.At, s.TZ, s.Phone, s.Recent)
		}
		out[k] = eligibility.Decide(req, pol, s.PID, s.Reason, sending)
	}
	return due, out, nil
}

// DecideOne is the per-person form of the whole decision for a message to
// one person right now: engine.EligiblePerson, then the send policy with
// their zones and recent sends. Previews and the combination test use it.
func (r *Runner) DecideOne(ctx context.Context, req eligibility.Request, profileID int64) (eligibility.Decision, error) {
	reason, _, err := r.store.EligiblePerson(ctx, req, profileID)
	if err != nil || reason != "" || req.Transactional() {
		return eligibility.Decision{Reason: reason}, err
	}
	var tz, phone sql.NullString
	if err := r.db.QueryRowContext(ctx, `SELECT timezone, phone FROM profiles WHERE id = ?`, profileID).Scan(&tz, &phone); err != nil {
		return eligibility.Decision{}, err
	}
	recent, err := r.recentSends(ctx, req.Channel, req.At, []int64{profileID}, nil)
	if err != nil {
		return eligibility.Decision{}, err
	}
	return eligibility.Decide(req, r.eligibilityPolicy(), profileID, "", r.sending(req.Channel, req.At, tz.String, phone.String, recent[profileID])), nil
}

// eligibilityPolicy is the send policy as the decision takes it.
func (r *Runner) eligibilityPolicy() eligibility.Policy {
	return eligibility.Policy{HoldoutPercent: r.cfg.Policy.HoldoutPercent}
}

// recentSends reads the marketing sends on channel that count towards caps
// at now for people, leaving out the outbox rows except.
func (r *Runner) recentSends(ctx context.Context, channel string, now time.Time, people, except []int64) (map[int64][]time.Time, error) {
	ex := "-1"
	if len(except) > 0 {
		ex = intList(except)
	}
	rows, err := r.db.QueryContext(ctx, fmt.Sprintf(q("recent_sends"), intList(people), ex), channel, now.Add(-capWindow))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	recent := map[int64][]time.Time{}
	for rows.Next() {
		var pid int64
		var list any
		if err := rows.Scan(&pid, &list); err != nil {
			return nil, err
		}
		recent[pid] = timeList(list)
	}
	return recent, rows.Err()
}

// sendStep decides every due instance at a send or webhook step with the
// one eligibility decision and queues the allowed sends in the outbox,
// moving everyone on in the same transaction. Restricted people are held
// until the restriction is lifted; quiet hours hold until the window
// opens; a withdrawal ends the instance; other reasons skip the step.
func (r *Runner) sendStep(ctx context.Context, spec *Spec, version int, st *Step, now time.Time, res *TickResult) error {
	channel := st.Channel
	if st.Kind == StepWebhook {
		channel = channels.Webhook
	}
	req := eligibility.Request{Purpose: spec.Purpose, Channel: channel, At: now}
	qt := time.Now()
	due, decisions, err := r.decideSends(ctx, spec, version, st, req)
	r.tracef("send_due query", qt)
	if err != nil || len(due) == 0 {
		return err
	}
	defer r.tracef("send_due write", time.Now())
	next := spec.NextOf(st.ID)
	// queued holds each allowed send's key and its row of due; the outbox
	// rows are built one at a time as the Appender takes them.
	type queued struct {
		key string
		k   int
	}
	outbox := make([]queued, 0, len(due))
	// The queued sends' instance ids span [lowest, highest]: the outbox
	// rows that could already hold one of their keys (insert_outbox).
	lowest, highest := int64(math.MaxInt64), int64(math.MinInt64)
	logs := newRowBuf(logWidth, 0)
	var moves []move
	var visit []byte // the key's step component, built in place
	for k, s := range due {
		switch d := decisions[k]; d.Reason {
		case "":
			// The step component carries the visit (seq) and the instance, so
			// two entries of one person in the same slot (two receipts) and a
			// step visited twice get distinct keys; all are stable across
			// restarts.
			visit = append(strconv.AppendInt(append(append(visit[:0], st.ID...), '#'), int64(s.Seq), 10), '/')
			visit = strconv.AppendInt(visit, s.ID, 10)
			key := channels.NewIdempotencyKey(spec.Name, version, string(visit), s.PID, s.Slot)
			outbox = append(outbox, queued{key: key, k: k})
			lowest, highest = min(lowest, s.ID), max(highest, s.ID)
			res.Queued++
		case eligibility.QuietHours:
			moves = append(moves, hold(s.ID, s.PID, st.ID, ReasonQuietHours, d.HoldUntil))
			res.Held++
		case eligibility.Restricted:
			moves = append(moves, hold(s.ID, s.PID, st.ID, ReasonRestricted, farFuture))
			res.Held++
		default:
			logs.log(now, spec.Name, version, st.ID, s.PID, s.ID, "skipped", d.Reason, channel)
			res.Skipped++
			if d.Reason == eligibility.Withdrawn {
				moves = append(moves, move{ID: s.ID, ProfileID: s.PID, Step: st.ID, Status: StatusExited, Reason: ReasonWithdrawn, Kind: "exited", Due: now})
			} else {
				moves = append(moves, to(s.ID, s.PID, st.ID, next, now))
			}
		}
	}
	res.Moved += len(moves) + len(outbox)
	return r.write(ctx, func(t *tx) error {
		if len(outbox) > 0 {
			// The new rows' ids follow the outbox's last one in instance
			// order, given here rather than numbered in SQL (a window over
			// the step's sends cost a sort of all of them).
			var before int64
			if err := t.conn.QueryRowContext(t.ctx, `SELECT coalesce(max(id), 0) FROM journey_outbox`).Scan(&before); err != nil {
				return err
			}
			if err := t.temp("_jout", "id BIGINT, idem_key VARCHAR, instance_id BIGINT, profile_id BIGINT, seq INTEGER"); err != nil {
				return err
			}
			row := make([]driver.Value, 5)
			if err := appendEach(t, "_jout", len(outbox), func(i int) []driver.Value {
				s := due[outbox[i].k]
				row[0], row[1], row[2], row[3], row[4] = before+int64(i)+1, outbox[i].key, s.ID, s.PID, int32(s.Seq)
				return row
			}); err != nil {
				return err
			}
			// Another writer (an objection, an erasure) may have ended or
			// moved some of these instances since send_due read them.
			if _, err := t.exec(q("drop_stale_queued"), lowest, highest); err != nil {
				return err
			}
			if _, err := t.exec(q("insert_outbox"), spec.Name, int32(version), st.ID, channel, nullStr(st.Template), nullStr(st.URL),
				spec.Purpose, !req.Transactional(), now, lowest, highest); err != nil {
				return err
			}
		}
		if err := r.applyMoves(t, spec.Name, version, moves, now); err != nil {
			return err
		}
		if err := logMoved(t, logs.rows); err != nil {
			return err
		}
		if len(outbox) == 0 {
			return nil
		}
		// The queued sends all make the same move, filled in from _jout.
		return applyQueued(t, spec.Name, version, st.ID, to(0, 0, st.ID, next, now), now)
	})
}

// releaseRestricted makes instances held for a restriction that has been
// lifted due again. It writes only when there is one, so an idle tick
// commits nothing.
func (r *Runner) releaseRestricted(ctx context.Context, journey string, now time.Time) error {
	var n int
	if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM journey_instances i JOIN profiles p ON p.id = i.profile_id
WHERE i.journey = ? AND i.status = 'active' AND i.held_reason = 'restricted' AND NOT p.restricted`, journey).Scan(&n); err != nil || n == 0 {
		return err
	}
	return r.write(ctx, func(t *tx) error {
		_, err := t.exec(q("release_restricted"), now, journey)
		return err
	})
}

// hold keeps an instance at its step until due, logged as held for reason.
func hold(id, pid int64, step, reason string, due time.Time) move {
	return move{ID: id, ProfileID: pid, Step: step, Status: StatusActive, Reason: reason, Kind: "held", Stay: true, Due: due}
}

// retryPolicy decides the send policy for the retries among batch (indexes
// retries) at this instant, with their zones and their other recent sends
// on the channel: one decision per retry, in order.
func (r *Runner) retryPolicy(ctx context.Context, channel string, batch []outRow, retries []int) ([]eligibility.Decision, error) {
	now := r.now()
	pids := make([]int64, len(retries))
	ids := make([]int64, len(retries))
	for k, i := range retries {
		pids[k], ids[k] = batch[i].msg.ProfileID, batch[i].id
	}
	recent, err := r.recentSends(ctx, channel, now, pids, ids)
	if err != nil {
		return nil, err
	}
	pol := r.eligibilityPolicy()
	out := make([]eligibility.Decision, len(retries))
	for k, i := range retries {
		m := batch[i].msg
		req := eligibility.Request{Purpose: m.Purpose, Channel: channel, At: now}
		out[k] = eligibility.Decide(req, pol, m.ProfileID, "", r.sending(channel, now, m.Timezone, batch[i].phone, recent[m.ProfileID]))
	}
	return out, nil
}

// byIndex sorts the messages to send back into batch order.
type byIndex struct {
	idx  []int
	msgs []channels.Message
}

func (b byIndex) Len() int           { return len(b.idx) }
func (b byIndex) Less(i, j int) bool { return b.idx[i] < b.idx[j] }
func (b byIndex) Swap(i, j int) {
	b.idx[i], b.idx[j] = b.idx[j], b.idx[i]
	b.msgs[i], b.msgs[j] = b.msgs[j], b.msgs[i]
}
