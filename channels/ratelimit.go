package channels

import (
	"context"
	"sync"
	"time"
)

// LimiterConfig configures a Limiter.
type LimiterConfig struct {
	// PerSecond is the sustained rate. Zero or negative means unlimited.
	PerSecond float64
	// Burst is how many sends may go at once after an idle period.
	// Default: max(1, ceil(PerSecond)).
	Burst int
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx is done. Default: a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Limiter is a token bucket shared by the goroutines of one adapter. A nil
// *Limiter never waits.
type Limiter struct {
	cfg    LimiterConfig
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter, or nil (unlimited) when cfg.PerSecond <= 0.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.PerSecond <= 0 {
		return nil
	}
	if cfg.Burst <= 0 {
		cfg.Burst = int(cfg.PerSecond)
		if float64(cfg.Burst) < cfg.PerSecond {
			cfg.Burst++
		}
		if cfg.Burst < 1 {
			cfg.Burst = 1
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = SleepContext
	}
	return &Limiter{cfg: cfg, tokens: float64(cfg.Burst), last: cfg.Now()}
}

// Wait blocks until one send may proceed or ctx is done.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	l.mu.Lock()
	now := l.cfg.Now()
	if el := now.Sub(l.last); el > 0 {
		l.tokens += el.Seconds() * l.cfg.PerSecond
		if max := float64(l.cfg.Burst); l.tokens > max {
			l.tokens = max
		}
	}
	l.last = now
	l.tokens--
	var wait time.Duration
	if l.tokens < 0 {
		wait = time.Duration(-l.tokens / l.cfg.PerSecond * float64(time.Second))
	}
	l.mu.Unlock()
	if wait <= 0 {
		return ctx.Err()
	}
	if err := l.cfg.Sleep(ctx, wait); err != nil {
		l.mu.Lock()
		l.tokens++ // give the reservation back
		l.mu.Unlock()
		return err
	}
	return nil
}

// SleepContext waits for d or until ctx is done, whichever is first.
func SleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
