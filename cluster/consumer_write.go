package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/tactcdp/tact/engine"
)

// writeRuns writes recs in stream order, one store ingestion per run of
// records with the same trust (as the server's group commit keeps client
// and server keys apart).
func (c *Consumer) writeRuns(ctx context.Context, recs []seqRecord) error {
	for start := 0; start < len(recs); {
		end := start + 1
		for end < len(recs) && recs[end].rec.Untrusted == recs[start].rec.Untrusted {
			end++
		}
		if err := c.writeIsolating(ctx, recs[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// writeIsolating writes run; when the store refuses its content, it writes
// halves so that only the refused records are left out (acknowledged and
// counted: retrying cannot change the store's answer).
func (c *Consumer) writeIsolating(ctx context.Context, run []seqRecord) error {
	err := c.write(ctx, run)
	if err == nil || !refusal(err) {
		return err
	}
	if len(run) == 1 {
		c.reject(run[0].seq, refusalReason(err), err)
		return nil
	}
	mid := len(run) / 2
	if err := c.writeIsolating(ctx, run[:mid]); err != nil {
		return err
	}
	return c.writeIsolating(ctx, run[mid:])
}

// write stores run (one trust level): profiles, then events, through the
// store's ingestion; events sent without a message id through its import,
// which identifies them by content.
func (c *Consumer) write(ctx context.Context, run []seqRecord) error {
	if len(run) == 0 {
		return nil
	}
	untrusted := run[0].rec.Untrusted
	b := engine.IngestBatch{Label: fmt.Sprintf("stream-%s-%d", c.conn.cfg.Stream, run[0].seq), Untrusted: untrusted}
	var noID []map[string]any
	var touched []map[string]any
	for _, sr := range run {
		r := sr.rec
		if r.Profile != nil {
			b.Profiles = append(b.Profiles, r.profileRow())
			b.ProfileMessageIDs = append(b.ProfileMessageIDs, r.ProfileMessageID)
			continue
		}
		ev := r.Event
		touched = append(touched, map[string]any{engine.KindUserID: ev.UserID, engine.KindAnonymousID: ev.AnonymousID})
		if ev.MessageID == "" {
			row, err := r.eventRow()
			if err != nil {
				return &engine.ImportError{File: b.Label, Field: "properties", Msg: err.Error()}
			}
			noID = append(noID, row)
			continue
		}
		e := &b.Events
		e.UserID, e.AnonymousID, e.Event = append(e.UserID, ev.UserID), append(e.AnonymousID, ev.AnonymousID), append(e.Event, ev.Event)
		e.TS, e.Properties, e.Context = append(e.TS, ev.TS), append(e.Properties, ev.Properties), append(e.Context, ev.Context)
		e.MessageID = append(e.MessageID, ev.MessageID)
	}
	res, err := c.store.Ingest(ctx, b)
	if err != nil {
		return err
	}
	if len(res.EventsDropped) > 0 {
		c.log.Info("events not stored: no permission to track", "by_reason", res.EventsDropped)
	}
	if len(noID) > 0 {
		imp := c.store.ImportRows
		if untrusted {
			imp = c.store.ImportRowsUntrusted
		}
		if _, err := imp(ctx, engine.ImportEvents, b.Label+"-noid", noID); err != nil {
			return err
		}
	}
	if c.committed != nil {
		c.committed(b.Profiles, touched)
	}
	return nil
}

// refusal reports an error that is the store's answer to the data, not a
// passing failure.
func refusal(err error) bool {
	var ie *engine.ImportError
	var te *engine.TrustError
	var ve *engine.ValidationError
	var ee *engine.EventTimeError
	return errors.As(err, &ie) || errors.As(err, &te) || errors.As(err, &ve) || errors.As(err, &ee)
}

func refusalReason(err error) string {
	var te *engine.TrustError
	if errors.As(err, &te) {
		return "client_key_" + te.Kind
	}
	return "invalid"
}

// reject counts and logs a record left out, by its sequence and reason
// only (the data may be personal).
func (c *Consumer) reject(seq uint64, reason string, err error) {
	c.metrics.rejected.WithLabelValues(reason).Inc()
	c.log.Warn("stream record refused by the store; skipped", "stream", c.conn.cfg.Stream, "seq", seq, "reason", reason, "err", errSummary(err))
}

// errSummary describes err without the values it may quote.
func errSummary(err error) string {
	var ie *engine.ImportError
	if errors.As(err, &ie) {
		return fmt.Sprintf("import refused at line %d field %q", ie.Line, ie.Field)
	}
	var te *engine.TrustError
	if errors.As(err, &te) {
		return "a client write key may not change the " + te.Kind
	}
	var ve *engine.ValidationError
	if errors.As(err, &ve) {
		return "validation error in field " + ve.Field
	}
	var ee *engine.EventTimeError
	if errors.As(err, &ee) {
		return "event time out of range"
	}
	var se *storeError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err.Error()
	case errors.As(err, &se):
		// DuckDB's messages may quote a row: only the error's type.
		return fmt.Sprintf("database write failed (%T)", se.err)
	}
	return err.Error() // NATS errors: no payload in them
}

// storeError marks a failure of the store, whose message may quote data.
type storeError struct{ err error }

func (e *storeError) Error() string { return "store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }
