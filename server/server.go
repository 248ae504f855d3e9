package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/setup"
	"github.com/tactcdp/tact/channels/sms"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/journeys"
	"github.com/tactcdp/tact/journeys/bridge"
	"github.com/tactcdp/tact/segments"
)

// AudienceQuery is a segment expression with an optional consent scope.
type AudienceQuery struct {
	Expr    string `json:"expr"`
	Purpose string `json:"purpose,omitempty"`
	Channel string `json:"channel,omitempty"`
	// IDsOnly: a member list carries profile ids only (no purpose, and the
	// caller is not an admin).
	IDsOnly bool `json:"-"`
	// Traits are the trait columns a member list adds (resolved by
	// segments.MemberTraits before any work).
	Traits []engine.Trait `json:"-"`
}

// Segments is what the admin API needs from the segments package.
type Segments interface {
	// Check reports how expr is evaluated (path, SQL, reason).
	Check(ctx context.Context, expr string) (CheckResult, error)
	// Count counts an audience, with the removal breakdown when scoped.
	Count(ctx context.Context, q AudienceQuery) (segments.Counts, error)
	// Members writes an audience in format (json, csv, parquet, arrow).
	// It returns the number of rows written.
	Members(ctx context.Context, q AudienceQuery, format string, w io.Writer) (int64, error)
	// Save stores a named segment for actor.
	Save(ctx context.Context, name, expr, actor string) (segments.Diff, error)
	// List lists saved segments.
	List(ctx context.Context) (SegmentList, error)
	// Delete removes a saved segment for actor.
	Delete(ctx context.Context, name, actor string) error
}

// CheckResult says how an expression is evaluated.
type CheckResult struct {
	Path    segments.Path `json:"path"`
	SQL     string        `json:"sql"`
	Reasons []string      `json:"reasons"`
}

// SegmentList is the saved segments.
type SegmentList struct {
	Segments []segments.Saved `json:"segments"`
}

// ValidateResult is a valid journey spec.
type ValidateResult struct {
	Valid   bool   `json:"valid"`
	Journey string `json:"journey"`
	Purpose string `json:"purpose"`
}

// JourneyList is every journey.
type JourneyList struct {
	Journeys []journeys.Info `json:"journeys"`
}

// FailureList is a journey's failed sends, counted by reason and listed
// (newest first, at most 200).
type FailureList struct {
	Journey  string                  `json:"journey"`
	ByReason []journeys.FailureCount `json:"by_reason"`
	Failures []journeys.Failure      `json:"failures"`
}

// TriggerResult is how many people entered an api-entry journey.
type TriggerResult struct {
	Journey string `json:"journey"`
	Entered int    `json:"entered"`
}

// Journeys is what the admin API needs from the journeys package.
type Journeys interface {
	Validate(ctx context.Context, spec []byte) (ValidateResult, error)
	// Publish publishes a spec for actor; admin says they hold the admin
	// role (a transactional journey needs it).
	Publish(ctx context.Context, spec []byte, actor string, admin bool) (journeys.Version, error)
	// Pause and Resume change a journey's state for actor (audited).
	Pause(ctx context.Context, name, actor string) error
	Resume(ctx context.Context, name, actor string) error
	Stats(ctx context.Context, name string) (journeys.Stats, error)
	// Failures lists a journey's failed sends with their reasons.
	Failures(ctx context.Context, name string) (FailureList, error)
	List(ctx context.Context) (JourneyList, error)
	// Trigger enters people into an api-entry journey.
	Trigger(ctx context.Context, name string, entries []TriggerEntry) (TriggerResult, error)
}

// TriggerEntry is one person entering an api-entry journey.
type TriggerEntry struct {
	ProfileID int64
	Payload   map[string]any
	Ref       string
}

// Scheduler is the journey scheduler's loop (journeys.Scheduler): the
// server runs it, nudges it when data arrives and reports its health.
type Scheduler interface {
	// Run ticks until ctx ends, finishing the tick in progress.
	Run(ctx context.Context) error
	// Nudge asks for a tick as soon as possible; it never blocks.
	Nudge()
	// Health reports how the last tick went.
	Health() journeys.SchedulerHealth
}

// Privacy carries out data-subject requests for a person named by any
// identifier. The default is the store's own operations (EnginePrivacy).
type Privacy interface {
	Export(ctx context.Context, user string, opts engine.PrivacyOptions) (*engine.PersonalDataExport, error)
	Rectify(ctx context.Context, user string, set map[string]string, opts engine.PrivacyOptions) (engine.RectifyResult, error)
	Restrict(ctx context.Context, user string, on bool, opts engine.PrivacyOptions) (engine.Request, error)
	Object(ctx context.Context, user string, on bool, opts engine.PrivacyOptions) (engine.Request, error)
	Erase(ctx context.Context, user string, opts engine.PrivacyOptions) (engine.ErasureResult, error)
}

// EnginePrivacy is Privacy over the store.
type EnginePrivacy struct{ Store *engine.Store }

// Export implements Privacy.
func (p EnginePrivacy) Export(ctx context.Context, user string, opts engine.PrivacyOptions) (*engine.PersonalDataExport, error) {
	return p.Store.ExportPersonalData(ctx, user, opts)
}

// Rectify implements Privacy.
func (p EnginePrivacy) Rectify(ctx context.Context, user string, set map[string]string, opts engine.PrivacyOptions) (engine.RectifyResult, error) {
	return p.Store.Rectify(ctx, user, set, opts)
}

// Restrict implements Privacy (on false: unrestrict).
func (p EnginePrivacy) Restrict(ctx context.Context, user string, on bool, opts engine.PrivacyOptions) (engine.Request, error) {
	if on {
		return p.Store.Restrict(ctx, user, opts)
	}
	return p.Store.Unrestrict(ctx, user, opts)
}

// Object implements Privacy (on false: unobject).
func (p EnginePrivacy) Object(ctx context.Context, user string, on bool, opts engine.PrivacyOptions) (engine.Request, error) {
	if on {
		return p.Store.Object(ctx, user, opts)
	}
	return p.Store.Unobject(ctx, user, opts)
}

// Erase implements Privacy.
func (p EnginePrivacy) Erase(ctx context.Context, user string, opts engine.PrivacyOptions) (engine.ErasureResult, error) {
	return p.Store.Erase(ctx, user, engine.EraseOptions{PrivacyOptions: opts})
}

// Options are New's arguments. Store is required; everything else may be
// nil, in which case the endpoints that need it answer 501.
type Options struct {
	Config Config
	Store  *engine.Store
	// Clock defaults to the store's clock. It dates consent changes and
	// corrects event times, and issues and checks link tokens.
	Clock clock.Clock
	// WallClock paces rate limits and confirmation-code lifetimes, which
	// must follow real time even when Clock is fixed (--now). Default: the
	// wall clock.
	WallClock clock.Clock
	Logger    *slog.Logger

	Segments  Segments
	Journeys  Journeys
	Scheduler Scheduler
	Privacy   Privacy
	// Sink receives SMS keywords and delivery feedback. Default: a sink
	// over the store (bridge.Adapter, as the journeys runner uses).
	Sink channels.FeedbackSink
	// CodeSender delivers the confirmation code of data downloads from the
	// preference centre. Nil: downloads are unavailable.
	CodeSender CodeSender
	// Watcher is told which profiles ingestion just changed (segment-entry
	// journeys re-check them at once).
	Watcher ProfileWatcher
	// Channels is the built channel set (channels/setup): when given, its
	// link signer also verifies links (and signs them when LinkKeys is
	// empty), its Twilio auth token verifies SMS webhooks and its keyword
	// replies answer them (channels.sms is the one place both are
	// configured), and its email channel sends confirmation codes when its
	// templates hold CodeTemplate. Nil: no SMS webhooks.
	Channels *setup.Set
	// Importer overrides the store's ImportRows for ingestion (tests).
	Importer Importer
	// Console configures the marketer's console under /console/.
	Console ConsoleConfig
}

// Server is the HTTP server. Create it with New; serve Handler or call
// Serve; call Shutdown to stop.
type Server struct {
	cfg     Config
	store   *engine.Store
	clock   clock.Clock
	log     *slog.Logger
	metrics *Metrics

	segments   Segments
	journeys   Journeys
	scheduler  Scheduler
	privacy    Privacy
	sink       channels.FeedbackSink
	codeSender CodeSender
	watcher    ProfileWatcher
	changed    chan watchItem
	watchWG    sync.WaitGroup

	writeKeys   []string
	tokens      []principal
	signer      *linktoken.Signer
	verifiers   []*linktoken.Signer
	twilioToken string
	smsInbound  sms.InboundConfig
	links       linktoken.Links
	ingest      *ingester
	warm        *warmup
	ingestLimit int64
	adminLimit  int64

	ipLimit, tokLimit, ingestIPLimit, keyLimit *limiter
	codes                                      *codeStore
	sns                                        *snsVerifier
	pages                                      *pages
	line                                       lineHook
	consoleCfg                                 ConsoleConfig

	handler   http.Handler
	draining  atomic.Bool
	schedMu   sync.Mutex // guards scheduler and schedStop once started
	schedStop context.CancelFunc
	schedWG   sync.WaitGroup
	schedOnce sync.Once
	once      sync.Once
	// stopStream stops a cluster engine's stream consumer (cluster_engine.go)
	// before the ingester and the watcher it feeds.
	stopStream func()
}

type principal struct {
	name  string
	role  Role
	token string
}

// New checks the configuration and builds a server. The ingester and the
// scheduler loop start at once; call Shutdown to stop them.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("server: a store is required")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	cfg := opts.Config.withDefaults()
	s := &Server{cfg: cfg, store: opts.Store, clock: opts.Clock, log: opts.Logger, metrics: newMetrics(),
		segments: opts.Segments, journeys: opts.Journeys, privacy: opts.Privacy,
		sink: opts.Sink, codeSender: opts.CodeSender, watcher: opts.Watcher, changed: make(chan watchItem, 256)}
	if s.clock == nil {
		s.clock = opts.Store.Clock()
	}
	if s.log == nil {
		s.log = opts.Store.Logger()
	}
	if s.privacy == nil {
		s.privacy = EnginePrivacy{Store: opts.Store}
	}
	if s.sink == nil {
		s.sink = bridge.New(opts.Store)
	}
	for _, k := range cfg.WriteKeys {
		s.writeKeys = append(s.writeKeys, secret(k.Key))
	}
	for _, t := range cfg.Tokens {
		s.tokens = append(s.tokens, principal{name: t.Name, role: t.Role, token: secret(t.Token)})
	}
	if len(cfg.LinkKeys) > 0 {
		var keys [][]byte
		for _, k := range cfg.LinkKeys {
			b, _ := decodeKey(k)
			keys = append(keys, b)
		}
		signer, err := linktoken.New(linktoken.Config{Keys: keys, TTL: cfg.LinkTTL, Now: s.clock.Now})
		if err != nil {
			return nil, fmt.Errorf("server.link_keys: %w", err)
		}
		s.signer = signer
		s.links = linktoken.Links{BaseURL: cfg.PublicURL, Signer: signer}
		s.verifiers = append(s.verifiers, signer)
	}
	s.line = newLINEHook(opts.Channels)
	if cs := opts.Channels; cs != nil {
		if cs.Signer != nil {
			s.verifiers = append(s.verifiers, cs.Signer)
			if s.signer == nil {
				s.signer, s.links = cs.Signer, cs.Links
				if cfg.PublicURL != "" {
					s.links.BaseURL = cfg.PublicURL
				}
			}
		}
		s.twilioToken, s.smsInbound = cs.TwilioAuthToken, cs.SMSInbound
		if ch, ok := cs.Get(channels.Email); ok && s.codeSender == nil && cs.Templates != nil {
			if _, err := cs.Templates.Lookup(CodeTemplate); err == nil {
				s.codeSender = ChannelCodeSender{Channel: ch, Template: CodeTemplate, Clock: s.clock}
			}
		}
	}
	s.smsInbound.Now = s.clock.Now
	s.ingestLimit = maxSegmentBatch
	s.adminLimit = 1 << 20
	if cfg.MaxBodyBytes > 0 {
		s.ingestLimit, s.adminLimit = cfg.MaxBodyBytes, cfg.MaxBodyBytes
	}
	wall := opts.WallClock
	if wall == nil {
		wall = clock.Real{}
	}
	rl := cfg.RateLimit
	s.ipLimit = newLimiter(wall, rl.PerIP, rl.PerIPBurst)
	s.tokLimit = newLimiter(wall, rl.PerToken, rl.PerTokBurst)
	s.ingestIPLimit = newLimiter(wall, rl.PerWriteKey, rl.PerWriteKeyBurst)
	s.keyLimit = newLimiter(wall, rl.PerWriteKey, rl.PerWriteKeyBurst)
	s.codes = newCodeStore(wall)
	s.sns = newSNSVerifier()
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	s.pages = p
	s.consoleCfg = opts.Console
	imp := opts.Importer
	if imp == nil {
		imp = opts.Store
	}
	s.ingest = newIngester(imp, cfg.Ingest, s.metrics, s.log, s.afterFlush)
	s.warm = startWarmup(imp, s.log)
	if s.watcher != nil {
		s.watchWG.Add(1)
		go s.watchLoop()
	}
	s.handler = s.routes()
	if opts.Scheduler != nil {
		s.StartScheduler(opts.Scheduler)
	}
	return s, nil
}

// StartScheduler runs the journey scheduler sc (once; later calls do
// nothing) until Shutdown. It ticks every server.scheduler_interval (the
// scheduler's own interval) and as soon as ingestion commits new data.
func (s *Server) StartScheduler(sc Scheduler) {
	s.schedOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		s.schedMu.Lock()
		s.scheduler, s.schedStop = sc, cancel
		s.schedMu.Unlock()
		s.schedWG.Add(1)
		go func() {
			defer s.schedWG.Done()
			_ = sc.Run(ctx)
		}()
	})
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics are the server's metrics; the journey runner reports through them.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Links builds preference and unsubscribe links signed with the server's
// keys (zero Links when no link key is configured).
func (s *Server) Links() linktoken.Links { return s.links }

// Addr is the configured listen address.
func (s *Server) Addr() string { return s.cfg.Addr }

// Nudge asks the scheduler to tick now (new data arrived).
func (s *Server) Nudge() {
	if sc := s.currentScheduler(); sc != nil {
		sc.Nudge()
	}
}

// SchedulerInterval is how often the journey scheduler should tick
// (server.scheduler_interval, default 1s).
func (s *Server) SchedulerInterval() time.Duration { return s.cfg.SchedulerInterval }

// currentScheduler is the running scheduler, nil before StartScheduler.
func (s *Server) currentScheduler() Scheduler {
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	return s.scheduler
}

// Serve serves on ln until ctx ends, then shuts down gracefully: no new
// connections, in-flight requests finish (their events are written), the
// ingester drains and the scheduler finishes its tick.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("server listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		_ = s.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	herr := hs.Shutdown(sctx)
	serr := s.Shutdown(sctx)
	s.log.Info("server stopped")
	return errors.Join(herr, serr)
}

// Shutdown stops the ingester (writing what is queued) and the scheduler
// loop (after its current tick). Safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	var err error
	s.once.Do(func() {
		s.warm.stop() // it holds the store's write lock: the ingester's last writes wait for it
		if s.stopStream != nil {
			s.stopStream()
		}
		err = s.ingest.close(ctx)
		if err == nil {
			// The ingester has stopped: nothing sends on changed any more.
			close(s.changed)
		}
		s.schedMu.Lock()
		stop := s.schedStop
		s.schedMu.Unlock()
		if stop != nil {
			stop()
		}
		done := make(chan struct{})
		go func() { s.schedWG.Wait(); s.watchWG.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = errors.Join(err, ctx.Err())
		}
	})
	return err
}
