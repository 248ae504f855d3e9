package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/email"
	"github.com/tactcdp/tact/channels/sms"
	"github.com/tactcdp/tact/channels/webhook"
	"github.com/tactcdp/tact/journeys/bridge"
)

// formTok reads the link token of a form post (body field or query),
// bounding the body first.
func formTok(r *http.Request) string {
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.Form.Get("token")
}

// formAccount keys webhook rate limits by the provider account.
func formAccount(r *http.Request) string {
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.PostForm.Get("AccountSid")
}

// verifyTwilio checks X-Twilio-Signature against the URL Twilio called
// (server.public_url + path and query when configured).
func (s *Server) verifyTwilio(w http.ResponseWriter, r *http.Request) bool {
	tok := s.twilioToken
	if tok == "" {
		s.writeError(w, r, errNotAvailable("Twilio webhooks (configure channels.sms)"))
		return false
	}
	public := ""
	if s.cfg.PublicURL != "" {
		public = strings.TrimRight(s.cfg.PublicURL, "/") + r.URL.RequestURI()
	}
	if err := sms.VerifyRequest(r, tok, public); err != nil {
		s.metrics.ingestRejected.WithLabelValues("bad_signature").Inc()
		s.writeError(w, r, errf(http.StatusForbidden, "bad_signature", sms.SignatureHeader, "the webhook signature does not verify"))
		return false
	}
	return true
}

func (s *Server) handleTwilioInbound(w http.ResponseWriter, r *http.Request) {
	if !s.verifyTwilio(w, r) {
		return
	}
	in, err := sms.ParseInboundForm(r.PostForm)
	if err != nil {
		s.writeError(w, r, badRequest("From", "%v", err))
		return
	}
	if aerr := textErrorf("Body", in.Body); aerr != nil {
		s.writeError(w, r, aerr)
		return
	}
	fresh, ok := s.claimWebhook(w, r, "twilio_inbound", in.MessageSID, "MessageSid")
	if !ok {
		return
	}
	if !fresh {
		// A replay of a message already applied: answer as Twilio expects,
		// change nothing, reply nothing.
		w.Header().Set("Content-Type", sms.TwiMLContentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(sms.TwiML(""))
		return
	}
	reply, err := sms.HandleInbound(r.Context(), inboundRecorder{ConsentRecorder: s.sink, restorer: bridge.New(s.store)}, s.smsInbound, in)
	if err != nil {
		s.releaseWebhook(r, "twilio_inbound", in.MessageSID)
		s.writeError(w, r, err)
		return
	}
	if reply.Action != sms.ActionNone {
		status := "withdrawn"
		switch reply.Action {
		case sms.ActionOptIn:
			status = "granted"
		case sms.ActionHelp:
			status = "help"
		}
		if reply.Changed || reply.Action == sms.ActionHelp {
			s.metrics.consentChanges.WithLabelValues("sms_inbound", status).Inc()
		}
		s.log.Info("sms keyword", "action", string(reply.Action), "changed", reply.Changed)
	}
	w.Header().Set("Content-Type", sms.TwiMLContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(sms.TwiML(reply.Text))
}

func (s *Server) handleTwilioStatus(w http.ResponseWriter, r *http.Request) {
	if !s.verifyTwilio(w, r) {
		return
	}
	fbs, err := sms.ParseStatusCallback(r.PostForm, s.clock.Now())
	if err != nil {
		s.writeError(w, r, badRequest("MessageStatus", "%v", err))
		return
	}
	// Each status of a message is reported once; a repeat is a replay.
	id := r.PostForm.Get("MessageSid") + ":" + r.PostForm.Get("MessageStatus")
	fresh, ok := s.claimWebhook(w, r, "twilio_status", id, "MessageSid")
	if !ok {
		return
	}
	if !fresh {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if s.applyFeedback(w, r, fbs) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.releaseWebhook(r, "twilio_status", id)
}

// applyFeedback records provider feedback through the sink.
func (s *Server) applyFeedback(w http.ResponseWriter, r *http.Request, fbs []channels.Feedback) bool {
	if len(fbs) == 0 {
		return true
	}
	if err := channels.Apply(r.Context(), s.sink, fbs); err != nil {
		// Providers retry on 5xx; Apply is idempotent per feedback id.
		s.log.Error("feedback not recorded", "route", routeOf(r), "err", errClass(err))
		s.writeError(w, r, errf(http.StatusInternalServerError, "internal", "", "feedback not recorded"))
		return false
	}
	for _, f := range fbs {
		s.metrics.feedback.WithLabelValues(f.Channel, string(f.Kind)).Inc()
	}
	return true
}

// handleSES receives Amazon SES notifications through SNS: the SNS
// signature must verify, the topic must be one of server.ses_topic_arns,
// and when server.ses_webhook_key is set the path must carry it.
func (s *Server) handleSES(w http.ResponseWriter, r *http.Request) {
	if key := secret(s.cfg.SESWebhookKey); key != "" && subtle.ConstantTimeCompare([]byte(r.PathValue("key")), []byte(key)) != 1 {
		s.writeError(w, r, errf(http.StatusNotFound, "not_found", "", "no such endpoint"))
		return
	}
	if len(s.cfg.SESTopicARNs) == 0 {
		s.writeError(w, r, errNotAvailable("SES feedback (set server.ses_topic_arns)"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil {
		s.writeError(w, r, errf(http.StatusRequestEntityTooLarge, "too_large", "", "body too large"))
		return
	}
	m, err := s.sns.verify(r.Context(), body)
	if err != nil {
		s.metrics.ingestRejected.WithLabelValues("bad_signature").Inc()
		s.log.Warn("sns message refused", "reason", err.Error())
		s.writeError(w, r, errf(http.StatusForbidden, "bad_signature", "Signature", "the SNS signature does not verify"))
		return
	}
	if !slices.Contains(s.cfg.SESTopicARNs, m.TopicArn) {
		s.writeError(w, r, errf(http.StatusForbidden, "forbidden", "TopicArn", "topic is not in server.ses_topic_arns"))
		return
	}
	if aerr := s.checkFreshness("Timestamp", m.Timestamp); aerr != nil {
		s.metrics.ingestRejected.WithLabelValues("stale_webhook").Inc()
		s.writeError(w, r, aerr)
		return
	}
	fbs, sub, err := email.ParseSES(body)
	if err != nil {
		s.writeError(w, r, badRequest("", "not an SES notification"))
		return
	}
	if sub == nil {
		fresh, ok := s.claimWebhook(w, r, "sns", m.MessageID, "MessageId")
		if !ok {
			return
		}
		if !fresh {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if !s.applyFeedback(w, r, fbs) {
			s.releaseWebhook(r, "sns", m.MessageID)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if sub != nil {
		if err := s.confirmSNS(r.Context(), sub); err != nil {
			s.log.Warn("sns subscription not confirmed", "err", err.Error())
			s.writeError(w, r, errf(http.StatusForbidden, "forbidden", "SubscribeURL", "%v", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// confirmSNS confirms a subscription to a configured topic by GETting its
// SubscribeURL, which must be an https URL on amazonaws.com.
func (s *Server) confirmSNS(ctx context.Context, sub *email.SNSSubscription) error {
	if !slices.Contains(s.cfg.SESTopicARNs, sub.TopicArn) {
		return errors.New("topic is not in server.ses_topic_arns")
	}
	u, err := url.Parse(sub.SubscribeURL)
	if err != nil || u.Scheme != "https" || !strings.HasSuffix(u.Hostname(), ".amazonaws.com") {
		return errors.New("SubscribeURL is not an https amazonaws.com URL")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("SNS refused the confirmation")
	}
	s.log.Info("sns subscription confirmed")
	return nil
}

// handleEmailReport receives RFC 3464 bounce and RFC 5965 complaint
// reports relayed by a mail server, signed with X-Tact-Signature.
func (s *Server) handleEmailReport(w http.ResponseWriter, r *http.Request) {
	var secrets [][]byte
	for _, k := range s.cfg.FeedbackSecrets {
		secrets = append(secrets, []byte(secret(k)))
	}
	if len(secrets) == 0 {
		s.writeError(w, r, errNotAvailable("email reports (set server.feedback_secrets)"))
		return
	}
	body, err := webhook.VerifyRequest(r, secrets, s.clock.Now(), 0, 1<<20)
	if err != nil {
		s.metrics.ingestRejected.WithLabelValues("bad_signature").Inc()
		s.writeError(w, r, errf(http.StatusForbidden, "bad_signature", webhook.SignatureHeader, "the webhook signature does not verify"))
		return
	}
	fbs, err := email.ParseReport(bytes.NewReader(body), s.clock.Now())
	if err != nil {
		s.writeError(w, r, badRequest("", "not a delivery status or feedback report"))
		return
	}
	if s.applyFeedback(w, r, fbs) {
		w.WriteHeader(http.StatusNoContent)
	}
}
