package server

import (
	"context"
	"log/slog"
	"time"
)

// IngestWarmer is an Importer that can load what its group commits read
// into memory before the first request; engine.Store is one (its
// WarmIngestion says what and why).
type IngestWarmer interface {
	WarmIngestion(ctx context.Context) error
}

// warmup runs the importer's warm-up once, in the background, from New;
// /readyz answers 503 "warming_up" until it is over, so that a load
// balancer sends traffic once the first commits no longer pay for it.
// Requests that come anyway are served: they wait for the write lock the
// warm-up holds, as they would wait for a commit. A failed warm-up is
// logged and the server serves cold.
type warmup struct {
	done   chan struct{}
	cancel context.CancelFunc
}

func startWarmup(imp Importer, log *slog.Logger) *warmup {
	w := &warmup{done: make(chan struct{}), cancel: func() {}}
	wi, ok := imp.(IngestWarmer)
	if !ok {
		close(w.done)
		return w
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() {
		defer close(w.done)
		start := time.Now()
		if err := wi.WarmIngestion(ctx); err != nil {
			if ctx.Err() == nil {
				log.Warn("ingestion warm-up failed; serving without it", "err", errClass(err))
			}
			return
		}
		log.Info("ingestion warmed up", "took", time.Since(start).Round(time.Millisecond))
	}()
	return w
}

// over reports whether the warm-up has ended (done, failed or stopped).
func (w *warmup) over() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// stop cancels the warm-up and waits for it to end.
func (w *warmup) stop() {
	w.cancel()
	<-w.done
}
