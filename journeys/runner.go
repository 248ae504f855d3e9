package journeys

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/engine/consent"
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
	// BatchSize is how many messages a channel receives per Send call.
	// Default 500.
	BatchSize int
	// FlushEvery is how many results are written back per transaction
	// (group commit): at most this many sends are resent with their
	// idempotency key after a crash. Default 2000; 1 writes back after
	// every channel batch.
	FlushEvery int
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
	adapter *EngineAdapter
	gate    *cachedGate
	log     *slog.Logger

	writeMu sync.Mutex
	tickMu  sync.Mutex
	specs   sync.Map // "name\x00version" → *Spec
}

// ErrNotFound is returned for an unknown journey.
var ErrNotFound = errors.New("journeys: no such journey")

// NotFoundError names the missing journey; errors.Is(err, ErrNotFound).
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("no journey named %q", e.Name) }

// Is reports target == ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// New returns a runner over store.
func New(store *engine.Store, cfg Config) (*Runner, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 2000
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
		chans: map[string]channels.Channel{}, limits: map[string]*channels.Limiter{}, adapter: NewEngineAdapter(store)}
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

// ValidateConfig is what Validate and Publish check specs against.
func (r *Runner) ValidateConfig() ValidateConfig {
	vc := ValidateConfig{Templates: r.cfg.Templates, Expressions: r.eval}
	for _, p := range r.store.Policy().Purposes() {
		vc.Purposes = append(vc.Purposes, p.Name)
	}
	vc.Channels = consent.Channels()
	for n := range r.chans {
		if !contains(vc.Channels, n) {
			vc.Channels = append(vc.Channels, n)
		}
	}
	return vc
}

// Validate parses and checks a journey file.
func (r *Runner) Validate(file string, src []byte) (*Spec, error) {
	return Parse(file, src, r.ValidateConfig())
}

// Version describes one published version.
type Version struct {
	Journey     string    `json:"journey"`
	Version     int       `json:"version"`
	Purpose     string    `json:"purpose"`
	Entry       EntryKind `json:"entry"`
	PublishedAt time.Time `json:"published_at"`
	// Unchanged is set by Publish when the source equals the latest version.
	Unchanged bool `json:"unchanged,omitempty"`
}

// Publish validates src and stores it as the journey's next immutable
// version. People already inside finish on the version they entered; new
// entries use the new version. Publishing the same source again is a no-op.
func (r *Runner) Publish(ctx context.Context, file string, src []byte) (Version, error) {
	return r.PublishAs(ctx, file, src, Publisher{Actor: "operator", Admin: true})
}

// Publisher is who publishes a journey.
type Publisher struct {
	// Actor names them in the audit log ("api:ops", "operator").
	Actor string
	// Admin: they hold the admin role. Only an admin may publish or change
	// a transactional journey, which skips marketing consent.
	Admin bool
}

// ForbiddenError is a publish refused by a governance rule.
type ForbiddenError struct {
	Journey string
	Rule    string
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("journeys: %s: %s", e.Journey, e.Rule)
}

// ruleTransactionalAdmin is the rule a non-admin meets publishing a
// transactional journey.
const ruleTransactionalAdmin = "publishing or changing a transactional journey needs the admin role (it skips marketing consent, caps, quiet hours and the holdout)"

// PublishAs is Publish for p: a transactional journey (the new version's
// purpose, or the current one's) needs an admin, and every publish or
// refusal of one is written to the audit log.
func (r *Runner) PublishAs(ctx context.Context, file string, src []byte, p Publisher) (Version, error) {
	spec, err := r.Validate(file, src)
	if err != nil {
		return Version{}, err
	}
	var current string
	if err := r.db.QueryRowContext(ctx, `SELECT v.purpose FROM journeys j JOIN journey_versions v ON v.journey = j.name AND v.version = j.current_version WHERE j.name = ?`,
		spec.Name).Scan(&current); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Version{}, err
	}
	transactional := spec.Transactional() || current == PurposeTransactional
	if transactional && !p.Admin {
		ferr := &ForbiddenError{Journey: spec.Name, Rule: ruleTransactionalAdmin}
		if err := r.store.RecordAudit(ctx, p.Actor, engine.AuditJourneyRefused, "journey:"+spec.Name,
			map[string]any{"journey": spec.Name, "purpose": spec.Purpose, "rule": "transactional_needs_admin"}); err != nil {
			return Version{}, errors.Join(ferr, err)
		}
		return Version{}, ferr
	}
	sum := sha256.Sum256(src)
	hash := hex.EncodeToString(sum[:])
	now := r.now()
	v := Version{Journey: spec.Name, Purpose: spec.Purpose, Entry: spec.Entry.Kind, PublishedAt: now}
	err = r.write(ctx, func(t *tx) error {
		var cur sql.NullInt64
		var curHash sql.NullString
		var at sql.NullTime
		if err := t.conn.QueryRowContext(ctx, q("latest_version"), spec.Name).Scan(&cur, &curHash, &at); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur.Valid && curHash.String == hash {
			v.Version, v.Unchanged, v.PublishedAt = int(cur.Int64), true, at.Time
			return nil
		}
		v.Version = int(cur.Int64) + 1
		if _, err := t.exec(q("insert_version"), spec.Name, v.Version, string(src), hash, spec.Purpose, string(spec.Entry.Kind), now); err != nil {
			return err
		}
		n, err := t.exec(q("update_journey_version"), v.Version, now, spec.Name)
		if err != nil {
			return err
		}
		if n == 0 {
			if _, err := t.exec(q("insert_journey"), spec.Name, v.Version, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && !v.Unchanged {
		r.log.Info("journey published", "journey", v.Journey, "version", v.Version)
		err = r.store.RecordAudit(ctx, p.Actor, engine.AuditJourneyPublished, "journey:"+spec.Name,
			map[string]any{"journey": spec.Name, "version": v.Version, "purpose": spec.Purpose})
	}
	return v, err
}

// spec loads (and caches) a published version's spec.
func (r *Runner) spec(ctx context.Context, name string, version int) (*Spec, error) {
	key := name + "\x00" + strconv.Itoa(version)
	if s, ok := r.specs.Load(key); ok {
		return s.(*Spec), nil
	}
	var src string
	if err := r.db.QueryRowContext(ctx, q("version_source"), name, version).Scan(&src); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &NotFoundError{Name: fmt.Sprintf("%s v%d", name, version)}
		}
		return nil, err
	}
	vc := r.ValidateConfig()
	vc.Templates = nil // a published version stays runnable
	vc.Expressions = syntaxChecker{}
	spec, err := Parse(name, []byte(src), vc)
	if err != nil {
		return nil, fmt.Errorf("journey %s v%d no longer parses: %w", name, version, err)
	}
	r.specs.Store(key, spec)
	return spec, nil
}

// VersionInfo is one version in a listing.
type VersionInfo struct {
	Version     int       `json:"version"`
	PublishedAt time.Time `json:"published_at"`
	// Active is how many people are inside on this version.
	Active int64 `json:"active"`
}

// Info describes a journey: its versions and state.
type Info struct {
	Name           string        `json:"name"`
	Purpose        string        `json:"purpose"`
	Entry          EntryKind     `json:"entry"`
	CurrentVersion int           `json:"current_version"`
	State          string        `json:"state"`
	Health         string        `json:"health"`
	LastError      string        `json:"last_error,omitempty"`
	LastRunAt      *time.Time    `json:"last_run_at,omitempty"`
	MissedSlots    int64         `json:"missed_slots"`
	Versions       []VersionInfo `json:"versions"`
}

// Journey states.
const (
	StateActive = "active"
	StatePaused = "paused"
)

// List describes every journey, by name.
func (r *Runner) List(ctx context.Context) ([]Info, error) {
	rows, err := r.db.QueryContext(ctx, q("list_journeys"))
	if err != nil {
		return nil, err
	}
	var out []Info
	for rows.Next() {
		var i Info
		var lastErr sql.NullString
		var lastRun sql.NullTime
		var entry string
		if err := rows.Scan(&i.Name, &i.CurrentVersion, &i.State, &i.Health, &lastErr, &lastRun, &i.MissedSlots, &i.Purpose, &entry); err != nil {
			rows.Close()
			return nil, err
		}
		i.LastError, i.Entry = lastErr.String, EntryKind(entry)
		if lastRun.Valid {
			t := lastRun.Time
			i.LastRunAt = &t
		}
		out = append(out, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for k := range out {
		vr, err := r.db.QueryContext(ctx, q("list_versions"), out[k].Name)
		if err != nil {
			return nil, err
		}
		for vr.Next() {
			var v VersionInfo
			if err := vr.Scan(&v.Version, &v.PublishedAt, &v.Active); err != nil {
				vr.Close()
				return nil, err
			}
			out[k].Versions = append(out[k].Versions, v)
		}
		vr.Close()
	}
	return out, nil
}

// Get describes one journey.
func (r *Runner) Get(ctx context.Context, name string) (Info, error) {
	all, err := r.List(ctx)
	if err != nil {
		return Info{}, err
	}
	for _, i := range all {
		if i.Name == name {
			return i, nil
		}
	}
	return Info{}, &NotFoundError{Name: name}
}

// Pause stops entries and step processing of a journey; sends already in
// the outbox still go out. Resume continues where people were.
func (r *Runner) Pause(ctx context.Context, name string) error {
	return r.setState(ctx, name, StatePaused)
}

// Resume undoes Pause.
func (r *Runner) Resume(ctx context.Context, name string) error {
	return r.setState(ctx, name, StateActive)
}

func (r *Runner) setState(ctx context.Context, name, state string) error {
	return r.write(ctx, func(t *tx) error {
		n, err := t.exec(q("set_state"), state, r.now(), name)
		if err != nil {
			return err
		}
		if n == 0 {
			return &NotFoundError{Name: name}
		}
		return nil
	})
}

// StepStats counts what happened at one step.
type StepStats struct {
	Step string `json:"step"`
	Kind string `json:"kind"`
	// Entered counts arrivals at the step.
	Entered int64 `json:"entered"`
	// Waiting is how many people are at the step now.
	Waiting int64 `json:"waiting"`
	Sent    int64 `json:"sent"`
	// Skipped counts skipped sends by reason.
	Skipped map[string]int64 `json:"skipped,omitempty"`
	// Held counts holds (quiet hours) by reason.
	Held      map[string]int64 `json:"held,omitempty"`
	Failed    int64            `json:"failed"`
	Pending   int64            `json:"pending"`
	Converted int64            `json:"converted"`
	Exited    int64            `json:"exited"`
	Completed int64            `json:"completed"`
}

// Stats summarises a journey across its versions.
type Stats struct {
	Journey   string      `json:"journey"`
	Entered   int64       `json:"entered"`
	Active    int64       `json:"active"`
	Completed int64       `json:"completed"`
	Converted int64       `json:"converted"`
	Exited    int64       `json:"exited"`
	Steps     []StepStats `json:"steps"`
}

// Stats counts, per step, how many people entered, were sent, skipped (by
// reason), held, failed, converted and exited.
func (r *Runner) Stats(ctx context.Context, name string) (Stats, error) {
	info, err := r.Get(ctx, name)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Journey: name}
	steps := map[string]*StepStats{}
	var order []string
	get := func(id string) *StepStats {
		if s, ok := steps[id]; ok {
			return s
		}
		s := &StepStats{Step: id, Skipped: map[string]int64{}, Held: map[string]int64{}}
		steps[id] = s
		order = append(order, id)
		return s
	}
	// Steps of the current version first, in spec order.
	if spec, err := r.spec(ctx, name, info.CurrentVersion); err == nil {
		for _, s := range spec.Steps {
			get(s.ID).Kind = string(s.Kind)
		}
	}
	rows, err := r.db.QueryContext(ctx, q("stats_log"), name)
	if err != nil {
		return Stats{}, err
	}
	for rows.Next() {
		var step, kind string
		var reason sql.NullString
		var n int64
		if err := rows.Scan(&step, &kind, &reason, &n); err != nil {
			rows.Close()
			return Stats{}, err
		}
		s := get(step)
		switch kind {
		case "entered":
			st.Entered += n
			s.Entered += n
		case "step":
			s.Entered += n
		case "sent":
			s.Sent += n
		case "skipped":
			s.Skipped[reason.String] += n
		case "held":
			s.Held[reason.String] += n
		case "failed":
			s.Failed += n
		case "converted":
			s.Converted += n
		case "exited":
			s.Exited += n
		case "completed":
			s.Completed += n
		}
	}
	rows.Close()
	rows, err = r.db.QueryContext(ctx, q("stats_instances"), name)
	if err != nil {
		return Stats{}, err
	}
	for rows.Next() {
		var step, status string
		var n int64
		if err := rows.Scan(&step, &status, &n); err != nil {
			rows.Close()
			return Stats{}, err
		}
		switch status {
		case "active":
			st.Active += n
			get(step).Waiting += n
		case "completed":
			st.Completed += n
		case "converted":
			st.Converted += n
		case "exited":
			st.Exited += n
		}
	}
	rows.Close()
	rows, err = r.db.QueryContext(ctx, q("stats_pending"), name)
	if err != nil {
		return Stats{}, err
	}
	for rows.Next() {
		var step string
		var n int64
		if err := rows.Scan(&step, &n); err != nil {
			rows.Close()
			return Stats{}, err
		}
		get(step).Pending += n
	}
	rows.Close()
	for _, id := range order {
		s := steps[id]
		if len(s.Skipped) == 0 {
			s.Skipped = nil
		}
		if len(s.Held) == 0 {
			s.Held = nil
		}
		st.Steps = append(st.Steps, *s)
	}
	return st, nil
}

// TickResult counts the work one tick did.
type TickResult struct {
	Entered   int `json:"entered"`
	Moved     int `json:"moved"`
	Queued    int `json:"queued"`
	Sent      int `json:"sent"`
	Skipped   int `json:"skipped"`
	Held      int `json:"held"`
	Failed    int `json:"failed"`
	Retried   int `json:"retried"`
	Converted int `json:"converted"`
	Exited    int `json:"exited"`
	// Errors maps journeys whose tick failed to their error; the others
	// went on.
	Errors map[string]string `json:"errors,omitempty"`
}

func (t *TickResult) add(o TickResult) {
	t.Entered += o.Entered
	t.Moved += o.Moved
	t.Queued += o.Queued
	t.Sent += o.Sent
	t.Skipped += o.Skipped
	t.Held += o.Held
	t.Failed += o.Failed
	t.Retried += o.Retried
	t.Converted += o.Converted
	t.Exited += o.Exited
	for k, v := range o.Errors {
		if t.Errors == nil {
			t.Errors = map[string]string{}
		}
		t.Errors[k] = v
	}
}

// busy reports whether the tick changed anything.
func (t TickResult) busy() bool {
	return t.Entered+t.Moved+t.Queued+t.Sent+t.Skipped+t.Failed+t.Retried+t.Converted+t.Exited > 0
}

// journeyNames lists journeys to tick (only, when non-empty).
func (r *Runner) journeyNames(ctx context.Context, only string) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT name FROM journeys ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		if only == "" || n == only {
			out = append(out, n)
		}
	}
	if only != "" && len(out) == 0 {
		return nil, &NotFoundError{Name: only}
	}
	sort.Strings(out)
	return out, rows.Err()
}
