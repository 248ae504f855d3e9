package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// loadResult is what one bounded load run measured.
type loadResult struct {
	Events   int
	Requests int
	Elapsed  time.Duration
	P50, P99 time.Duration
	Stored   int
}

// runLoad posts `requests` /v1/batch requests of `perBatch` track events
// from `workers` concurrent clients over loopback, then checks every
// acknowledged event is stored.
func runLoad(tb testing.TB, e *env, workers, requests, perBatch int) loadResult {
	tb.Helper()
	bodies := make([][]byte, requests)
	for r := range bodies {
		msgs := make([]map[string]any, perBatch)
		for i := range msgs {
			msgs[i] = map[string]any{"type": "track", "userId": "user-" + strconv.Itoa((r*perBatch+i)%5000), "event": "Product Viewed",
				"messageId": fmt.Sprintf("load-%d-%d", r, i), "timestamp": "2026-03-02T08:00:00Z",
				"properties": map[string]any{"sku": "SKU-" + strconv.Itoa(i), "price": 9.99}}
		}
		bodies[r], _ = json.Marshal(map[string]any{"batch": msgs, "sentAt": "2026-03-02T08:00:01Z"})
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}, Timeout: time.Minute}
	lat := make([]time.Duration, requests)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r := int(next.Add(1)) - 1
				if r >= requests {
					return
				}
				req, _ := http.NewRequest("POST", e.ts.URL+"/v1/batch", bytes.NewReader(bodies[r]))
				req.SetBasicAuth(testWriteKey, "")
				req.Header.Set("Content-Type", "application/json")
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[r] = time.Since(t)
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.Zero(tb, failed.Load(), "failed requests")
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res := loadResult{Events: requests * perBatch, Requests: requests, Elapsed: elapsed,
		P50: lat[requests/2], P99: lat[min(requests-1, requests*99/100)], Stored: e.counts().Events}
	return res
}

func loadEnv(tb testing.TB) *env {
	return newEnv(tb, func(c *Config, o *Options) {
		c.RateLimit.Disabled = true
		c.Ingest = IngestConfig{FlushInterval: 10 * time.Millisecond, MaxBatch: 20000}
		o.Watcher = nil // measure ingestion alone
	})
}

// TestLoadBatchIngest is a bounded load run on loopback: sustained events
// per second accepted by /v1/batch with every one durable, and the p99
// latency of a request. It runs a small load by default; TACT_LOAD_REQUESTS
// scales it (e.g. 2000 requests × 100 events).
func TestLoadBatchIngest(t *testing.T) {
	requests := 200
	if v := os.Getenv("TACT_LOAD_REQUESTS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		requests = n
	}
	workers := 32
	if v := os.Getenv("TACT_LOAD_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		workers = n
	}
	e := loadEnv(t)
	const perBatch = 100
	res := runLoad(t, e, workers, requests, perBatch)
	require.Equal(t, res.Events, res.Stored, "every acknowledged event is durable")
	rate := float64(res.Events) / res.Elapsed.Seconds()
	t.Logf("load: %d requests × %d events from %d clients in %s: %.0f events/s, %.0f requests/s, p50 %s, p99 %s",
		res.Requests, perBatch, workers, res.Elapsed.Round(time.Millisecond), rate, float64(res.Requests)/res.Elapsed.Seconds(),
		res.P50.Round(time.Microsecond), res.P99.Round(time.Microsecond))
}

// BenchmarkBatchIngest reports events/s and p99 latency for /v1/batch.
func BenchmarkBatchIngest(b *testing.B) {
	e := loadEnv(b)
	const workers, perBatch = 32, 100
	b.ResetTimer()
	res := runLoad(b, e, workers, b.N, perBatch)
	b.StopTimer()
	if res.Stored < res.Events {
		b.Fatalf("stored %d of %d events", res.Stored, res.Events)
	}
	b.ReportMetric(float64(res.Events)/res.Elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
}
