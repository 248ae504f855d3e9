package line

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tactcdp/tact/channels"
)

// QuotaState is the channel's monthly message quota as last seen, for the
// server's health endpoint and metrics.
type QuotaState struct {
	// Paused: the monthly quota is exhausted and Send makes no provider
	// call (it returns transient results with RetryAfter set to ResumeAt).
	Paused bool `json:"paused"`
	// PausedAt is when the channel was paused (zero when not paused).
	PausedAt time.Time `json:"paused_at"`
	// ResumeAt is when a paused channel reads the quota again and resumes
	// if it has been reset: the next reset (ResetTime), then every
	// QuotaProbeInterval while the quota is still used up.
	ResumeAt time.Time `json:"resume_at"`
	// Limited reports a monthly limit (quota type "limited"), Limit its
	// value; without a limit (type "none") Limited is false.
	Limited bool  `json:"limited"`
	Limit   int64 `json:"limit"`
	// Usage is the number of messages sent this month (quota/consumption).
	Usage int64 `json:"usage"`
	// CheckedAt is when the quota endpoints were last read (zero = never).
	CheckedAt time.Time `json:"checked_at"`
}

// quota is the adapter's pause state.
type quota struct {
	mu      sync.Mutex
	st      QuotaState
	probing bool
}

// ResetTime is when a monthly quota used up at now resets: midnight at the
// start of the next calendar month in zone.
//
// LINE counts messages per calendar month; its documentation gives no time
// zone for the reset. The default zone is Asia/Tokyo (UTC+9, no DST): LY
// Corporation bills in Japan time, and UTC+9 is the earliest of the
// candidate zones (Tokyo, Bangkok UTC+7, UTC), so Tact never waits past the
// real reset. Resuming early costs nothing: the first call after ResetTime
// reads the quota endpoints and the channel stays paused (probing every
// QuotaProbeInterval) until they show room again; and a pause that starts
// within the first day of a month probes every QuotaProbeInterval rather
// than waiting for the next month, in case LINE's reset is later than
// midnight in zone.
func ResetTime(now time.Time, zone *time.Location) time.Time {
	t := now.In(zone)
	return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, zone)
}

// resumeAt is when a channel paused at now reads the quota again: the next
// reset, or within the first day of a month (in the reset zone) after one
// QuotaProbeInterval, because LINE's own reset may come some hours later
// than midnight in the chosen zone.
func (a *Adapter) resumeAt(now time.Time) time.Time {
	next := ResetTime(now, a.cfg.QuotaResetZone)
	start := next.AddDate(0, -1, 0)
	if now.Sub(start) < 24*time.Hour {
		return now.Add(a.cfg.QuotaProbeInterval)
	}
	return next
}

// State returns the quota state.
func (a *Adapter) State() QuotaState {
	a.quota.mu.Lock()
	defer a.quota.mu.Unlock()
	return a.quota.st
}

// Paused reports whether the channel is paused on an exhausted monthly
// quota (for health checks).
func (a *Adapter) Paused() bool { return a.State().Paused }

// PausedGauge is 1 while the channel is paused, else 0: pass it to
// prometheus.NewGaugeFunc (e.g. tact_channel_paused{channel="line"}).
func (a *Adapter) PausedGauge() float64 {
	if a.Paused() {
		return 1
	}
	return 0
}

// Resume lifts a quota pause now, for an operator who raised the account's
// monthly limit: the next send calls LINE again (and pauses again if LINE
// still answers "monthly limit").
func (a *Adapter) Resume() {
	q := &a.quota
	q.mu.Lock()
	defer q.mu.Unlock()
	q.st.Paused, q.st.PausedAt, q.st.ResumeAt = false, time.Time{}, time.Time{}
}

// CheckQuota reads the monthly quota and this month's consumption from the
// Messaging API and pauses the channel when the limit is reached (call it
// at start-up and from a periodic health check; Send also reads it when it
// pauses and before it resumes). It never resumes a paused channel: LINE's
// consumption figure may lag behind the 429 that paused it (see Resume).
func (a *Adapter) CheckQuota(ctx context.Context) (QuotaState, error) {
	limited, limit, usage, err := a.readQuota(ctx)
	if err != nil {
		return a.State(), err
	}
	now := a.cfg.Now()
	q := &a.quota
	q.mu.Lock()
	defer q.mu.Unlock()
	q.st.Limited, q.st.Limit, q.st.Usage, q.st.CheckedAt = limited, limit, usage, now
	if limited && usage >= limit && !q.st.Paused {
		q.st.Paused, q.st.PausedAt, q.st.ResumeAt = true, now, a.resumeAt(now)
	}
	return q.st, nil
}

func (a *Adapter) readQuota(ctx context.Context) (limited bool, limit, usage int64, err error) {
	var q struct {
		Type  string `json:"type"`
		Value int64  `json:"value"`
	}
	var c struct {
		TotalUsage int64 `json:"totalUsage"`
	}
	for _, r := range []struct {
		path string
		into any
	}{{pathQuota, &q}, {pathQuotaConsumption, &c}} {
		status, _, raw, err := a.do(ctx, http.MethodGet, r.path, nil, "")
		if err != nil {
			return false, 0, 0, &channels.ProviderError{Provider: "line", Err: err}
		}
		if status != http.StatusOK {
			var body apiError
			_ = json.Unmarshal(raw, &body)
			return false, 0, 0, &channels.ProviderError{Provider: "line", HTTPStatus: status, Message: channels.TruncateMessage(body.text())}
		}
		if err := json.Unmarshal(raw, r.into); err != nil {
			return false, 0, 0, &channels.ProviderError{Provider: "line", HTTPStatus: status, Err: fmt.Errorf("decoding %s: %w", r.path, err)}
		}
	}
	return q.Type == "limited", q.Value, c.TotalUsage, nil
}

// pause records a 429 "monthly limit" answer and returns when the channel
// will try again. The quota figures are read for State; the 429 is
// authoritative, so a failed read does not undo the pause.
func (a *Adapter) pause(ctx context.Context) time.Time {
	now := a.cfg.Now()
	q := &a.quota
	q.mu.Lock()
	if !q.st.Paused {
		q.st.Paused, q.st.PausedAt, q.st.ResumeAt = true, now, a.resumeAt(now)
	}
	resume := q.st.ResumeAt
	q.mu.Unlock()
	if limited, limit, usage, err := a.readQuota(ctx); err == nil {
		q.mu.Lock()
		q.st.Limited, q.st.Limit, q.st.Usage, q.st.CheckedAt = limited, limit, usage, now
		q.mu.Unlock()
	}
	return resume
}

// pausedResult reports whether the channel is paused, with the result every
// message gets meanwhile. At or after ResumeAt one caller reads the quota:
// room again (or a failed read: let LINE answer) resumes the channel;
// still used up moves ResumeAt by QuotaProbeInterval.
func (a *Adapter) pausedResult(ctx context.Context) (channels.Result, bool) {
	q := &a.quota
	q.mu.Lock()
	if !q.st.Paused {
		q.mu.Unlock()
		return channels.Result{}, false
	}
	now := a.cfg.Now()
	if now.Before(q.st.ResumeAt) || q.probing {
		resume := q.st.ResumeAt
		q.mu.Unlock()
		return pausedResult(resume, now), true
	}
	q.probing = true
	q.mu.Unlock()

	limited, limit, usage, err := a.readQuota(ctx)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.probing = false
	if err == nil {
		q.st.Limited, q.st.Limit, q.st.Usage, q.st.CheckedAt = limited, limit, usage, now
		if limited && usage >= limit {
			q.st.ResumeAt = now.Add(a.cfg.QuotaProbeInterval)
			return pausedResult(q.st.ResumeAt, now), true
		}
	}
	q.st.Paused, q.st.PausedAt, q.st.ResumeAt = false, time.Time{}, time.Time{}
	return channels.Result{}, false
}

func pausedResult(resume, now time.Time) channels.Result {
	r := channels.Transient("line:quota_exhausted", &channels.ProviderError{
		Provider: "line", Err: ErrQuotaExhausted, RetryAfter: resume.Sub(now),
		Message: "channel paused until " + resume.UTC().Format(time.RFC3339),
	})
	r.RetryAfter = resume.Sub(now)
	return r
}
