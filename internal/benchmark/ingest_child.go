package benchmark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/sample"
)

// ingestPrepare imports the sample's profiles and web events into the
// ingest leg's database (not timed).
func ingestPrepare(ctx context.Context, t task) (childOutput, error) {
	st, err := engine.Open(ctx, t.DB, engine.Options{})
	if err != nil {
		return childOutput{}, err
	}
	defer func() { _ = st.Close() }()
	for _, f := range []struct {
		kind engine.ImportKind
		name string
	}{{engine.ImportProfiles, sample.FileCRMProfiles}, {engine.ImportEvents, sample.FileWebEvents}} {
		if _, err := st.Import(ctx, f.kind, filepath.Join(t.Dir, f.name)); err != nil {
			return childOutput{}, err
		}
	}
	return childOutput{}, nil
}

// batchBody is what the reference decodes of a /v1/batch request: enough
// to refuse a malformed body and to count the events.
type batchBody struct {
	Batch []struct {
		Type      string `json:"type"`
		MessageID string `json:"messageId"`
	} `json:"batch"`
}

// ingestReferenceServer serves the reference ingestion endpoint on
// t.Addr until ctx ends: decode the body, append it to a file, fsync,
// answer. Appends are serialised, as one log file needs.
func ingestReferenceServer(ctx context.Context, t task) (childOutput, error) {
	f, err := os.OpenFile(t.Out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return childOutput{}, err
	}
	defer f.Close()
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
		var b batchBody
		body, err := readBody(w, r)
		if err == nil {
			err = json.Unmarshal(body, &b)
		}
		if err != nil || len(b.Batch) == 0 {
			http.Error(w, "bad batch", http.StatusBadRequest)
			return
		}
		mu.Lock()
		_, err = f.Write(append(body, '\n'))
		if err == nil {
			err = f.Sync()
		}
		mu.Unlock()
		if err != nil {
			http.Error(w, "write failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true}`))
	})
	ln, err := net.Listen("tcp", t.Addr)
	if err != nil {
		return childOutput{}, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return childOutput{}, fmt.Errorf("reference server: %w", err)
	}
	<-drained // in-flight requests finish before the file closes
	return childOutput{}, nil
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	defer r.Body.Close()
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxBatchBytes))
}

// maxBatchBytes is Segment's (and Tact's default) batch body limit.
const maxBatchBytes = 512 << 10
