package server

import (
	"context"
	"net/http"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/sms"
)

// claimWebhook records the provider message id of an inbound webhook.
// fresh is false for a message already handled (a replay or a retry of
// something applied), which the caller answers without changing anything;
// ok is false when the request was answered with an error (no id).
func (s *Server) claimWebhook(w http.ResponseWriter, r *http.Request, provider, id, field string) (fresh, ok bool) {
	if id == "" || id == ":" {
		s.writeError(w, r, badRequest(field, "required (the provider's message id de-duplicates webhooks)"))
		return false, false
	}
	fresh, err := s.store.ClaimWebhook(r.Context(), provider, id)
	if err != nil {
		s.writeError(w, r, fieldNotFound(field, err))
		return false, false
	}
	if !fresh {
		s.metrics.ingestRejected.WithLabelValues("webhook_replay").Inc()
		s.log.Info("webhook replay ignored", "route", routeOf(r), "provider", provider)
	}
	return fresh, true
}

// releaseWebhook forgets a claim whose handling failed, so that the
// provider's retry is applied.
func (s *Server) releaseWebhook(r *http.Request, provider, id string) {
	if err := s.store.ReleaseWebhook(context.WithoutCancel(r.Context()), provider, id); err != nil {
		s.log.Error("webhook claim not released", "provider", provider, "err", errClass(err))
	}
}

// checkFreshness refuses a signed webhook whose own timestamp is older than
// server.webhook_freshness (or more than a minute ahead): a captured
// request replayed later is refused even once its receipt is purged.
func (s *Server) checkFreshness(field, ts string) *apiError {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return badRequest(field, "want an RFC 3339 time")
	}
	now := s.clock.Now()
	if age := now.Sub(t); age > s.cfg.WebhookFreshness || age < -time.Minute {
		return errf(http.StatusForbidden, "stale", field, "message time is outside the %s freshness window", s.cfg.WebhookFreshness)
	}
	return nil
}

// inboundRecorder is the consent recorder of inbound SMS keywords: STOP and
// everything else go to the server's sink; START goes to restorer, which
// restores only what STOP withdrew (sms.StopRestorer).
type inboundRecorder struct {
	channels.ConsentRecorder
	restorer sms.StopRestorer
}

// RestoreStopped implements sms.StopRestorer.
func (i inboundRecorder) RestoreStopped(ctx context.Context, c channels.ConsentChange) (bool, error) {
	return i.restorer.RestoreStopped(ctx, c)
}
