package line

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
)

// Messaging API paths and headers.
const (
	pathPush             = "/v2/bot/message/push"
	pathMulticast        = "/v2/bot/message/multicast"
	pathQuota            = "/v2/bot/message/quota"
	pathQuotaConsumption = "/v2/bot/message/quota/consumption"

	// HeaderRetryKey makes a push or multicast idempotent for 24 hours.
	HeaderRetryKey = "X-Line-Retry-Key"
	// HeaderRequestID is LINE's id of a request.
	HeaderRequestID = "X-Line-Request-Id"
	// HeaderAcceptedRequestID is, on a 409, the id of the request that
	// first used the retry key.
	HeaderAcceptedRequestID = "X-Line-Accepted-Request-Id"
)

// monthlyLimitMessage is the message of a 429 answer when the monthly
// message quota is used up (a rate-limit 429 says "Too many requests").
const monthlyLimitMessage = "You have reached your monthly limit."

// Errors of this package. Test with errors.Is.
var (
	// ErrQuotaExhausted: the monthly message quota is used up; the channel
	// is paused until it resets (see Adapter.State).
	ErrQuotaExhausted = errors.New("line: monthly message quota exhausted")
	// ErrRateLimited: LINE answered 429 (rate limit) on every attempt.
	ErrRateLimited = errors.New("line: rate limited")
	// ErrUnauthorized: LINE refused the channel access token (401) or the
	// channel may not use the endpoint (403).
	ErrUnauthorized = errors.New("line: channel access token refused")
)

// apiError is LINE's JSON error body.
type apiError struct {
	Message string `json:"message"`
	Details []struct {
		Message  string `json:"message"`
		Property string `json:"property"`
	} `json:"details"`
}

func (e apiError) text() string {
	s := e.Message
	for i, d := range e.Details {
		if i == 0 {
			s += ":"
		} else {
			s += ";"
		}
		s += " " + d.Property + " " + d.Message
	}
	return s
}

func pushBody(to string, msgs []byte, silent bool) []byte {
	return requestBody(`"to":`+strconv.Quote(to), msgs, silent)
}

func multicastBody(to []string, msgs []byte, silent bool) []byte {
	ids, _ := json.Marshal(to) // user ids are validated ASCII
	return requestBody(`"to":`+string(ids), msgs, silent)
}

// requestBody writes {"to":...,"messages":[...]} around the already
// rendered, compact and validated message array without re-encoding it.
func requestBody(to string, msgs []byte, silent bool) []byte {
	b := make([]byte, 0, len(to)+len(msgs)+48)
	b = append(b, '{')
	b = append(b, to...)
	b = append(b, `,"messages":`...)
	b = append(b, msgs...)
	if silent {
		b = append(b, `,"notificationDisabled":true`...)
	}
	return append(b, '}')
}

// do makes one request. Only transport failures return an error.
func (a *Adapter) do(ctx context.Context, method, path string, body []byte, retryKey string) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.cfg.ChannelAccessToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if retryKey != "" {
		req.Header.Set(HeaderRetryKey, retryKey)
	}
	a.calls.Add(1)
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, raw, nil
}

// outcome is the classified answer to a push or multicast.
type outcome struct {
	delivered      bool
	providerID     string
	accepted       bool // 409: the retry key was already accepted
	permanent      bool
	quotaExhausted bool
	retryable      bool
	reason         string
	err            error
	retryAfter     time.Duration
}

func (o outcome) result() channels.Result {
	switch {
	case o.delivered:
		r := channels.Delivered(o.providerID)
		if o.accepted {
			r.Reason = "line:retry_key_accepted"
		}
		return r
	case o.permanent:
		return channels.Permanent(o.reason, o.err)
	}
	r := channels.Transient(o.reason, o.err)
	r.RetryAfter = o.retryAfter
	return r
}

// call sends one push or multicast, retrying rate limits, 5xx answers and
// network failures with the same retry key.
func (a *Adapter) call(ctx context.Context, path string, body []byte, retryKey string) outcome {
	for attempt := 1; ; attempt++ {
		status, header, raw, err := a.do(ctx, http.MethodPost, path, body, retryKey)
		o := classify(path, status, header, raw, err, a.cfg.Now())
		if !o.retryable || attempt >= a.cfg.MaxAttempts || ctx.Err() != nil {
			return o
		}
		wait := a.cfg.Backoff << (attempt - 1)
		if o.retryAfter > 0 {
			wait = o.retryAfter
		}
		if wait > a.cfg.MaxBackoff {
			return o
		}
		if a.cfg.Sleep(ctx, wait) != nil {
			return o
		}
	}
}

// classify maps one answer of the Messaging API to an outcome.
func classify(path string, status int, header http.Header, raw []byte, err error, now time.Time) outcome {
	if err != nil {
		return outcome{retryable: true, reason: "line:network", err: &channels.ProviderError{Provider: "line", Err: err}}
	}
	if status == http.StatusOK {
		id := header.Get(HeaderRequestID)
		if path == pathPush {
			var ok struct {
				SentMessages []struct {
					ID string `json:"id"`
				} `json:"sentMessages"`
			}
			if json.Unmarshal(raw, &ok) == nil && len(ok.SentMessages) > 0 && ok.SentMessages[0].ID != "" {
				id = ok.SentMessages[0].ID
			}
		}
		return outcome{delivered: true, providerID: id}
	}
	var body apiError
	_ = json.Unmarshal(raw, &body)
	pe := &channels.ProviderError{Provider: "line", HTTPStatus: status, Message: channels.TruncateMessage(body.text())}
	reason := "line:" + strconv.Itoa(status)
	switch {
	case status == http.StatusConflict && header.Get(HeaderAcceptedRequestID) != "":
		return outcome{delivered: true, accepted: true, providerID: header.Get(HeaderAcceptedRequestID)}
	case status == http.StatusTooManyRequests && strings.Contains(body.Message, monthlyLimitMessage):
		pe.Err = ErrQuotaExhausted
		return outcome{quotaExhausted: true, reason: "line:quota_exhausted", err: pe}
	case status == http.StatusTooManyRequests:
		pe.Err = ErrRateLimited
		pe.RetryAfter = parseRetryAfter(header.Get("Retry-After"), now)
		return outcome{retryable: true, reason: "line:rate_limited", err: pe, retryAfter: pe.RetryAfter}
	case status >= 500:
		pe.RetryAfter = parseRetryAfter(header.Get("Retry-After"), now)
		return outcome{retryable: true, reason: reason, err: pe, retryAfter: pe.RetryAfter}
	case status == http.StatusUnauthorized:
		pe.Err, pe.Permanent = ErrUnauthorized, true
		pe.Message = "the channel access token is invalid or expired (channels.line.channel_access_token)"
		return outcome{permanent: true, reason: "line:unauthorized", err: pe}
	case status == http.StatusForbidden:
		pe.Err, pe.Permanent = ErrUnauthorized, true
		pe.Message = channels.TruncateMessage("the channel is not allowed to use " + path + ": " + body.Message)
		return outcome{permanent: true, reason: "line:forbidden", err: pe}
	}
	pe.Permanent = true
	if status == http.StatusBadRequest {
		reason = "line:bad_request"
	}
	return outcome{permanent: true, reason: reason, err: pe}
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
