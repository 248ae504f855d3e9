package journeys

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/journeys/bridge"
)

// Config configures a Runner. The zero value works: no channels (sends stay
// in the outbox until a channel with their name is configured), the VM
// expression evaluator, default policy.
type Config struct {
	// Trace, when set, receives the duration of every write statement and
	// dispatch phase: a profiling aid. Default: nil (off).
	Trace io.Writer
	// Channels receive the sends, by Channel.Name(). A webhook step needs a
	// channel named "webhook".
	Channels []channels.Channel
	// Evaluator evaluates expressions. Default: NewSegmentsEvaluator(store).
	Evaluator Evaluator
	// Templates, when set, is checked at publish: every send step's template
	// must exist for its channel.
	Templates *templates.Set
	// Policy is the send policy across journeys (caps, quiet hours, rate
	// limits, holdout).
	Policy PolicyConfig
	// BatchSize is how many messages a channel receives per Send call:
	// each batch is marked in flight before the call and its results are
	// written right after, so a crash resends at most one batch (with its
	// idempotency keys). Default 500.
	BatchSize int
	// PageSize is how many outbox rows one dispatch query loads. Default
	// 20000.
	PageSize int
	// MaxAttempts bounds provider attempts per send; a transient failure on
	// the last attempt fails permanently. Default 8.
	MaxAttempts int
	// RetryBase and RetryMax shape the exponential backoff after a
	// transient failure: RetryBase·2^(attempt-1), at most RetryMax, or the
	// provider's RetryAfter when longer. Defaults 1 minute and 6 hours.
	RetryBase, RetryMax time.Duration
	// MaxTransitions bounds how many step transitions one tick makes per
	// journey (a guard; validation already refuses cycles without a wait).
	// Default 64.
	MaxTransitions int
	// Clock overrides the store's clock.
	Clock clock.Clock
	// Sleep waits for rate limits and Now is the clock they measure with.
	// Defaults: a real timer honouring ctx, and time.Now.
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
	// Logger receives operational logs (never personal data). Default:
	// the store's logger.
	Logger *slog.Logger
}

// Runner publishes journey versions and advances every person inside them
// in bulk. It is safe for concurrent use; ticks are serialised. Only one
// process may run a database (DuckDB locks the file).
type Runner struct {
	store   *engine.Store
	db      *sql.DB
	cfg     Config
	clock   clock.Clock
	eval    Evaluator
	chans   map[string]channels.Channel
	limits  map[string]*channels.Limiter
	adapter *bridge.Adapter
	gate    *cachedGate
	log     *slog.Logger

	writeMu sync.Mutex
	tickMu  sync.Mutex
	specs   sync.Map // "name\x00version" → *Spec
}

// New returns a runner over store.
func New(store *engine.Store, cfg Config) (*Runner, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 20000
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Minute
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 6 * time.Hour
	}
	if cfg.MaxTransitions <= 0 {
		cfg.MaxTransitions = 64
	}
	if cfg.Sleep == nil {
		cfg.Sleep = channels.SleepContext
	}
	if cfg.Policy.HoldoutPercent < 0 || cfg.Policy.HoldoutPercent > 100 {
		return nil, fmt.Errorf("journeys: policy.holdout_percent must be 0..100, got %d", cfg.Policy.HoldoutPercent)
	}
	for ch, qh := range cfg.Policy.QuietHours {
		if err := qh.Validate(); err != nil {
			return nil, fmt.Errorf("journeys: policy.quiet_hours.%s: %w", ch, err)
		}
	}
	r := &Runner{store: store, db: store.DB(), cfg: cfg, clock: cfg.Clock, eval: cfg.Evaluator, log: cfg.Logger,
		chans: map[string]channels.Channel{}, limits: map[string]*channels.Limiter{}, adapter: bridge.New(store)}
	r.cfg.Policy.zones = &zoneCache{m: map[string]*time.Location{}}
	if r.clock == nil {
		r.clock = store.Clock()
	}
	if r.eval == nil {
		r.eval = NewSegmentsEvaluator(store)
	}
	if r.log == nil {
		r.log = store.Logger()
		if r.log == nil {
			r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
	}
	for _, c := range cfg.Channels {
		r.chans[c.Name()] = c
		if rate := cfg.Policy.RatePerSecond[c.Name()]; rate > 0 {
			r.limits[c.Name()] = channels.NewLimiter(channels.LimiterConfig{PerSecond: rate, Sleep: cfg.Sleep, Now: cfg.Now})
		}
	}
	r.gate = newCachedGate(r)
	return r, nil
}

// Gate is the consent gate to configure in channel adapters (their Gate
// setting) so that it runs immediately before each provider call.
func (r *Runner) Gate() channels.Gate { return r.gate }

// Store is the runner's store.
func (r *Runner) Store() *engine.Store { return r.store }

func (r *Runner) now() time.Time { return r.clock.Now().UTC().Truncate(time.Microsecond) }
