package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tactcdp/tact/channels/line"
	"github.com/tactcdp/tact/channels/setup"
	"github.com/tactcdp/tact/engine"
)

// LINE webhook events stored as events. Follows are identity facts (stored
// whatever the person's analytics choice, see engine's exempt events);
// messages and postbacks are behaviour, dropped by the events import for
// people who may not be tracked.
const (
	EventLINEFollowed = "identity_line_followed"
	EventLINEMessage  = "line_message"
	EventLINEPostback = "line_postback"
)

// replayLINE is the provider name of LINE webhook events in the replay
// store (webhook_receipts), keyed by webhookEventId.
const replayLINE = "line"

// lineHook is the LINE channel as the server sees it: the webhook receiver
// (nil when channels.line is not configured) and the adapter, for health
// and metrics.
type lineHook struct {
	receiver *line.WebhookReceiver
	adapter  *line.Adapter
}

// newLINEHook takes the LINE parts of a built channel set.
func newLINEHook(cs *setup.Set) lineHook {
	if cs == nil || cs.LINE == nil || len(cs.LINEWebhook.Secret) == 0 {
		return lineHook{}
	}
	rcv := cs.LINEWebhook
	return lineHook{receiver: &rcv, adapter: cs.LINE}
}

// handleLINE receives LINE webhooks at /webhooks/line. The signature is
// verified before anything else; each event is claimed once by its
// webhookEventId (a redelivery changes nothing); unfollow suppresses the
// LINE user (kind line_user_id, like a hard bounce), follow lifts an
// unfollow suppression and links the LINE user (a profile is created or
// found through the events import), message and postback are events. An
// error answers 500 with the claims released, so LINE's redelivery applies.
func (s *Server) handleLINE(w http.ResponseWriter, r *http.Request) {
	if s.line.receiver == nil {
		s.writeError(w, r, errNotAvailable("LINE webhooks (configure channels.line with a channel_secret)"))
		return
	}
	hook, err := s.line.receiver.Read(r)
	if err != nil {
		code := "invalid_webhook"
		if errors.Is(err, line.ErrBadSignature) {
			code = "invalid_signature"
			s.metrics.ingestRejected.WithLabelValues("line_signature").Inc()
		}
		s.writeError(w, r, errf(line.StatusCode(err), code, "x-line-signature", "%s", lineErrText(err)))
		return
	}
	ctx := r.Context()
	var claimed []string
	var rows []map[string]any
	fail := func(err error) {
		s.log.Error("line webhook not applied", "route", routeOf(r), "err", errClass(err))
		for _, id := range claimed {
			s.releaseWebhook(r, replayLINE, id)
		}
		s.writeError(w, r, errf(http.StatusInternalServerError, "internal", "", "webhook not applied"))
	}
	for _, ev := range hook.Events {
		if ev.ID == "" || !line.ValidUserID(ev.UserID) {
			// Nothing to key it on, or no user (a group member who did
			// not share their id): counted, not applied.
			s.metrics.ingestRejected.WithLabelValues("line_no_user").Inc()
			continue
		}
		fresh, err := s.store.ClaimWebhook(ctx, replayLINE, ev.ID)
		if err != nil {
			fail(err)
			return
		}
		if !fresh {
			s.metrics.ingestRejected.WithLabelValues("webhook_replay").Inc()
			continue
		}
		claimed = append(claimed, ev.ID)
		row, err := s.applyLINEEvent(ctx, ev)
		if err != nil {
			fail(err)
			return
		}
		if row != nil {
			rows = append(rows, row)
		}
	}
	if len(rows) > 0 {
		if _, err := s.store.ImportRows(ctx, engine.ImportEvents, "line-webhook", rows); err != nil {
			fail(err)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// applyLINEEvent acts on one fresh event and returns the event row to
// store (nil for none).
func (s *Server) applyLINEEvent(ctx context.Context, ev line.Event) (map[string]any, error) {
	at := ev.Timestamp
	if at.IsZero() {
		at = s.clock.Now()
	}
	row := map[string]any{engine.KindLINEUserID: ev.UserID, "timestamp": at.UTC().Format(time.RFC3339Nano), "message_id": "line:" + ev.ID}
	switch ev.Type {
	case line.EventUnfollow:
		return nil, s.store.Suppress(ctx, engine.KindLINEUserID, ev.UserID, engine.SuppressUnfollow, "line_webhook")
	case line.EventFollow:
		if _, err := s.store.UnsuppressReason(ctx, engine.KindLINEUserID, ev.UserID, engine.SuppressUnfollow); err != nil {
			return nil, err
		}
		row["event"] = EventLINEFollowed
		row["properties"] = map[string]any{"unblocked": ev.Unblocked}
	case line.EventMessage:
		// The message's text is the person's words: only its type is kept.
		row["event"] = EventLINEMessage
		row["properties"] = map[string]any{"message_type": ev.MessageType, "mode": ev.Mode}
	case line.EventPostback:
		props := map[string]any{"data": ev.PostbackData, "mode": ev.Mode}
		if len(ev.PostbackParams) > 0 {
			props["params"] = ev.PostbackParams
		}
		row["event"] = EventLINEPostback
		row["properties"] = props
	default:
		// accountLink: linking goes through an identify carrying
		// line_user_id (the nonce is the caller's own session).
		return nil, nil
	}
	return row, nil
}

// lineErrText is the client-facing text of a Read error (no body content).
func lineErrText(err error) string {
	switch {
	case errors.Is(err, line.ErrBadSignature):
		return "invalid or missing X-Line-Signature"
	case errors.Is(err, line.ErrBodyTooLarge):
		return "body too large"
	case errors.Is(err, line.ErrMalformedWebhook):
		return "malformed webhook body"
	}
	return "webhook not read"
}

// lineHealth is the LINE channel's part of /readyz (nil without one).
func (s *Server) lineHealth() *line.QuotaState {
	if s.line.adapter == nil {
		return nil
	}
	st := s.line.adapter.State()
	return &st
}
