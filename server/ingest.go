package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tactcdp/tact/engine"
)

// Importer is the store's bulk import, all-or-nothing per call.
type Importer interface {
	ImportRows(ctx context.Context, kind engine.ImportKind, label string, rows []map[string]any) (engine.ImportResult, error)
}

// ingestItem is one request's rows: written together with other requests'
// rows in a group commit, and acknowledged when that commit is durable.
type ingestItem struct {
	profiles []map[string]any
	// profileIDs are the profile rows' message ids, row for row ("" for
	// none): the store leaves out a row whose message was stored before.
	profileIDs []string
	events     []map[string]any
	types      map[string]int // messages by Segment type, for metrics
	n          int
	// untrusted marks rows sent with a client write key: they are
	// written apart from server-key rows, with the store's untrusted import.
	untrusted bool
	// cols are events in the store's columnar form, built on the request's
	// goroutine so the writer only concatenates; colsOK is false when some
	// event must go through the import (see eventColumns).
	cols   engine.IngestEvents
	colsOK bool
	done   chan error
}

// UntrustedImporter is an Importer that can also import rows from an
// untrusted source (a client write key); engine.Store is one. Without it,
// client-key rows are imported like any others.
type UntrustedImporter interface {
	ImportRowsUntrusted(ctx context.Context, kind engine.ImportKind, label string, rows []map[string]any) (engine.ImportResult, error)
}

// ErrQueueFull is returned when the ingester holds QueueSize messages.
var errQueueFull = errf(http.StatusServiceUnavailable, "overloaded", "", "ingestion queue is full; retry later")

var errIngestClosed = errf(http.StatusServiceUnavailable, "shutting_down", "", "server is shutting down; retry later")

// ingester is the group-commit writer: requests enqueue their rows; one
// goroutine collects whatever is queued for up to FlushInterval (or until
// MaxBatch messages) and writes it with one profiles import and one events
// import, each a single transaction; then every request in the batch gets
// its answer. No request is acknowledged before its rows are committed.
type ingester struct {
	imp     Importer
	cfg     IngestConfig
	metrics *Metrics
	log     *slog.Logger
	onFlush func(written []*ingestItem)

	in      chan *ingestItem
	queued  atomic.Int64
	mu      sync.RWMutex
	closed  bool
	stopped chan struct{}
	seq     atomic.Int64
	// lastGroup is the number of requests in the last group (run's
	// goroutine only): collect expects them back.
	lastGroup int
}

func newIngester(imp Importer, cfg IngestConfig, m *Metrics, log *slog.Logger, onFlush func([]*ingestItem)) *ingester {
	ing := &ingester{imp: imp, cfg: cfg, metrics: m, log: log, onFlush: onFlush,
		in: make(chan *ingestItem, 4096), stopped: make(chan struct{})}
	go ing.run()
	return ing
}

// submit queues item and waits until it is durable (nil) or rejected.
// When ctx ends first the rows may still be written; clients retry with
// the same messageId, which the store de-duplicates.
func (ing *ingester) submit(ctx context.Context, it *ingestItem) error {
	if it.n == 0 {
		return nil
	}
	it.done = make(chan error, 1)
	if _, ok := ing.imp.(Ingester); ok && len(it.events) > 0 {
		it.cols, it.colsOK = eventColumns(it.events)
	}
	ing.mu.RLock()
	if ing.closed {
		ing.mu.RUnlock()
		return errIngestClosed
	}
	if ing.queued.Add(int64(it.n)) > int64(ing.cfg.QueueSize) {
		ing.queued.Add(-int64(it.n))
		ing.mu.RUnlock()
		ing.metrics.ingestRejected.WithLabelValues("queue_full").Inc()
		return errQueueFull
	}
	ing.metrics.queueDepth.Add(float64(it.n))
	ing.in <- it
	ing.mu.RUnlock()
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops accepting, writes everything queued and returns when done.
func (ing *ingester) close(ctx context.Context) error {
	ing.mu.Lock()
	if !ing.closed {
		ing.closed = true
		close(ing.in)
	}
	ing.mu.Unlock()
	select {
	case <-ing.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (ing *ingester) run() {
	defer close(ing.stopped)
	for {
		first, ok := <-ing.in
		if !ok {
			return
		}
		batch, n := ing.collect(first)
		ing.flush(batch, n)
	}
}

// collect gathers a group behind first. It expects the requests the last
// group answered to come back (at least one): until that many are in it
// waits, for at most FlushInterval; then it takes whatever else is queued
// without waiting, up to MaxBatch messages. So a lone request is written at
// once, a steady set of clients shares each commit, and the requests that
// arrive while a group commits join the next one (groups grow with the
// load).
func (ing *ingester) collect(first *ingestItem) ([]*ingestItem, int) {
	batch := []*ingestItem{first}
	n := first.n
	expect := max(ing.lastGroup, 1)
	defer func() { ing.lastGroup = len(batch) }()
	timer := time.NewTimer(ing.cfg.FlushInterval)
	defer timer.Stop()
	for n < ing.cfg.MaxBatch {
		var it *ingestItem
		var ok bool
		if len(batch) >= expect {
			select {
			case it, ok = <-ing.in:
			default:
				return batch, n
			}
		} else {
			select {
			case it, ok = <-ing.in:
			case <-timer.C:
				return batch, n
			}
		}
		if !ok {
			return batch, n
		}
		batch = append(batch, it)
		n += it.n
	}
	return batch, n
}

func (ing *ingester) flush(batch []*ingestItem, n int) {
	// Writes must finish even when the server is shutting down: a request
	// is answered only after its rows are committed or rejected.
	ctx := context.Background()
	start := time.Now()
	seq := ing.seq.Add(1)
	errs := make([]error, len(batch))
	// Client-key and server-key rows are written in separate imports: the
	// store checks the client ones against what a client key may change.
	for _, untrusted := range []bool{false, true} {
		var part []*ingestItem
		var at []int
		for i, it := range batch {
			if it.untrusted == untrusted {
				part, at = append(part, it), append(at, i)
			}
		}
		if len(part) == 0 {
			continue
		}
		label := fmt.Sprintf("http-ingest-%d", seq)
		if untrusted {
			label = fmt.Sprintf("http-client-%d", seq)
		}
		partErrs := make([]error, len(part))
		ing.commit(ctx, label, part, partErrs)
		for j, i := range at {
			errs[i] = partErrs[j]
		}
	}
	var written []*ingestItem
	for i, it := range batch {
		if errs[i] == nil {
			written = append(written, it)
		}
	}
	// Hand the written rows on before answering, so that anyone who saw
	// the acknowledgement can rely on the notification being queued.
	if ing.onFlush != nil && len(written) > 0 {
		ing.onFlush(written)
	}
	for i, it := range batch {
		ing.queued.Add(-int64(it.n))
		ing.metrics.queueDepth.Sub(float64(it.n))
		if errs[i] == nil {
			for t, c := range it.types {
				ing.metrics.ingestMessages.WithLabelValues(t).Add(float64(c))
			}
		} else if te := (*engine.TrustError)(nil); errors.As(errs[i], &te) {
			// Recorded without personal data: the kind only.
			ing.metrics.ingestRejected.WithLabelValues("client_key_" + te.Kind).Inc()
			ing.log.Warn("client write key refused a contact change", "identifier_kind", te.Kind)
		} else {
			ing.metrics.ingestRejected.WithLabelValues("import").Inc()
		}
		it.done <- errs[i]
	}
	ing.metrics.ingestFlushes.Inc()
	ing.metrics.ingestBatch.Observe(float64(n))
	ing.metrics.ingestFlushDur.Observe(time.Since(start).Seconds())
}

// commit writes part in one transaction per kind; when some request's rows
// spoil it (all-or-nothing per call) it bisects, so the good requests still
// share a few transactions and only the bad one is refused.
func (ing *ingester) commit(ctx context.Context, label string, part []*ingestItem, errs []error) {
	if err := ing.write(ctx, label, part); err != nil {
		ing.log.Warn("group commit refused; isolating the request at fault", "requests", len(part), "err", errClass(err))
		ing.bisect(ctx, label, part, errs, 0)
	}
}

// bisect writes part in halves after a failed group commit; errs[lo:]
// receives each request's outcome.
func (ing *ingester) bisect(ctx context.Context, label string, part []*ingestItem, errs []error, lo int) {
	if len(part) == 1 {
		errs[lo] = ing.write(ctx, fmt.Sprintf("%s.%d", label, lo), part)
		return
	}
	mid := len(part) / 2
	for _, half := range []struct {
		items []*ingestItem
		at    int
	}{{part[:mid], lo}, {part[mid:], lo + mid}} {
		if len(half.items) == 1 {
			ing.bisect(ctx, label, half.items, errs, half.at)
			continue
		}
		if err := ing.write(ctx, fmt.Sprintf("%s.%d-%d", label, half.at, half.at+len(half.items)), half.items); err != nil {
			ing.bisect(ctx, label, half.items, errs, half.at)
		}
	}
}

// Ingester is the store's ingestion path for group commits (engine.Store
// is one): events go through a set-based path that de-duplicates message
// ids by index lookups (docs/architecture.md, "How HTTP ingestion
// commits", says what still grows with the database).
type Ingester interface {
	Ingest(ctx context.Context, b engine.IngestBatch) (engine.IngestResult, error)
}

// write stores the items' profiles, then their events (so identify calls
// link identities before the events of the same batch are attached):
// through the store's ingestion path when the importer has one (profiles
// always, events when every one carries a message id), else with two
// imports. All items share one trust level.
func (ing *ingester) write(ctx context.Context, label string, items []*ingestItem) error {
	untrusted := items[0].untrusted
	var profiles []map[string]any
	var profileIDs []string
	for _, it := range items {
		profiles = append(profiles, it.profiles...)
		profileIDs = append(profileIDs, it.profileIDs...)
	}
	if in, ok := ing.imp.(Ingester); ok {
		cols, all := joinColumns(items)
		b := engine.IngestBatch{Label: label, Untrusted: untrusted, Profiles: profiles, ProfileMessageIDs: profileIDs}
		if all {
			b.Events = cols
		}
		if len(b.Profiles) > 0 || b.Events.Len() > 0 {
			res, err := in.Ingest(ctx, b)
			if err != nil {
				return err
			}
			if len(res.EventsDropped) > 0 {
				ing.log.Info("events not stored: no permission to track", "by_reason", res.EventsDropped)
			}
		}
		if all {
			return nil
		}
		profiles = nil // written
	}
	var events []map[string]any
	for _, it := range items {
		events = append(events, it.events...)
	}
	imp := ing.imp.ImportRows
	if u, ok := ing.imp.(UntrustedImporter); ok && untrusted {
		imp = u.ImportRowsUntrusted
	}
	if len(profiles) > 0 {
		if _, err := imp(ctx, engine.ImportProfiles, label+"-profiles", profiles); err != nil {
			return err
		}
	}
	if len(events) > 0 {
		res, err := imp(ctx, engine.ImportEvents, label+"-events", events)
		if err != nil {
			return err
		}
		if len(res.EventsDropped) > 0 {
			ing.log.Info("events not stored: no permission to track", "by_reason", res.EventsDropped)
		}
	}
	return nil
}

// importErr turns a refused import into the request's error.
func importErr(err error) error {
	var ie *engine.ImportError
	if errors.As(err, &ie) {
		return badRequest(ie.Field, "rejected by the store: %s", ie.Msg)
	}
	var te *engine.TrustError
	if errors.As(err, &te) {
		return errf(http.StatusForbidden, "forbidden", trustField(te.Kind),
			"a client write key may not change or add the %s of a profile that already has one; send it with a server key or the admin API", te.Kind)
	}
	return err
}

// trustField names the Segment field that carries an identifier kind.
func trustField(kind string) string {
	switch kind {
	case engine.KindUserID:
		return "userId"
	case engine.KindEmail:
		return "traits.email"
	case engine.KindPhone:
		return "traits.phone"
	}
	return kind
}

// droppedEvents exports the store's count of behavioural events not stored
// (the person withdrew analytics, objected or is restricted) as
// tact_events_dropped_total{reason}. It reads the store at each scrape, so
// drops by imports, ingestion and feedback are all counted.
type droppedEvents struct {
	store *engine.Store
	desc  *prometheus.Desc
}

func newDroppedEvents(st *engine.Store) droppedEvents {
	return droppedEvents{store: st, desc: prometheus.NewDesc("tact_events_dropped_total",
		"Behavioural events not stored because the person withdrew analytics, objected or is restricted, by reason.", []string{"reason"}, nil)}
}

// Describe implements prometheus.Collector.
func (d droppedEvents) Describe(ch chan<- *prometheus.Desc) { ch <- d.desc }

// Collect implements prometheus.Collector.
func (d droppedEvents) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	drops, err := d.store.EventDrops(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(d.desc, err)
		return
	}
	for _, reason := range []string{engine.DropRestricted, engine.DropObjected, engine.DropAnalyticsWithdrawn} {
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, float64(drops[reason]), reason)
	}
}
