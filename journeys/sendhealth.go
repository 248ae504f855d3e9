package journeys

import (
	"context"
	"maps"
	"time"
)

// Send health: the scheduler keeps the failed and delivered sends of the
// last FailureWindow, by reason, so /readyz and the metrics show a provider
// that refuses, a template that cannot render or a channel that is not
// configured while it happens, not only in `journey failures`.

// Defaults of SchedulerConfig's send-health fields.
const (
	DefaultFailureWindow   = 15 * time.Minute
	DefaultDegradedRatio   = 0.05
	DefaultDegradedMinimum = 10
)

// FailureCode is the bounded label a failure reason is counted under in
// health and metrics: the adapter's machine-readable reason
// ("smtp:550", "twilio:21211", "render") when it is one, else "other".
// Free-text error messages never become labels.
func FailureCode(reason string) string {
	if reason == "" || len(reason) > 40 {
		return "other"
	}
	for _, c := range reason {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == ':' || c == '.' || c == '-'
		if !ok {
			return "other"
		}
	}
	return reason
}

// SendHealth is how sends went over the scheduler's failure window.
type SendHealth struct {
	// Window is the span the counts cover ("15m0s").
	Window string `json:"window"`
	// Sent and Failed count provider outcomes in the window.
	Sent   int `json:"sent"`
	Failed int `json:"failed"`
	// FailedByReason counts the failures by FailureCode.
	FailedByReason map[string]int `json:"failed_by_reason,omitempty"`
	// Degraded: at least DegradedMinimum failures in the window and at
	// least DegradedRatio of the attempts.
	Degraded bool `json:"degraded"`
}

// sendWindow is the scheduler's record of recent outcomes, one bucket per
// tick; owned by the scheduler loop (under its mutex).
type sendWindow struct {
	span    time.Duration
	ratio   float64
	minimum int
	buckets []sendBucket
}

type sendBucket struct {
	at     time.Time
	sent   int
	failed map[string]int
}

func (w *sendWindow) add(at time.Time, sent int, failed map[string]int) {
	if sent > 0 || len(failed) > 0 {
		w.buckets = append(w.buckets, sendBucket{at: at, sent: sent, failed: maps.Clone(failed)})
	}
	cut := at.Add(-w.span)
	i := 0
	for i < len(w.buckets) && !w.buckets[i].at.After(cut) {
		i++
	}
	w.buckets = w.buckets[i:]
}

func (w *sendWindow) health() SendHealth {
	h := SendHealth{Window: w.span.String()}
	for _, b := range w.buckets {
		h.Sent += b.sent
		for code, n := range b.failed {
			if h.FailedByReason == nil {
				h.FailedByReason = map[string]int{}
			}
			h.FailedByReason[code] += n
			h.Failed += n
		}
	}
	attempts := h.Sent + h.Failed
	h.Degraded = h.Failed >= w.minimum && attempts > 0 && float64(h.Failed) >= w.ratio*float64(attempts)
	return h
}

// restore seeds the window from the failures recorded in the database, so
// a restart does not hide a provider that has been failing (deliveries
// before the restart are not counted: the ratio errs towards degraded).
func (w *sendWindow) restore(ctx context.Context, r *Runner, now time.Time) error {
	fs, err := r.Failures(ctx, "", now.Add(-w.span), 100000)
	if err != nil {
		return err
	}
	for _, f := range fs {
		w.buckets = append(w.buckets, sendBucket{at: f.At, failed: map[string]int{FailureCode(f.Reason): 1}})
	}
	// Failures come newest first; the window trims from the oldest.
	for i, j := 0, len(w.buckets)-1; i < j; i, j = i+1, j-1 {
		w.buckets[i], w.buckets[j] = w.buckets[j], w.buckets[i]
	}
	return nil
}
