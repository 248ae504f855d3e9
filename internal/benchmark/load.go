package benchmark

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// eventsPerRequest is the batch size of every /v1/batch request.
const eventsPerRequest = 100

// load is one ingestion measurement: clients posting /v1/batch requests
// of eventsPerRequest track events (unique messageIds, known userIds)
// until the duration passes or the request budget is spent.
type load struct {
	url      string
	writeKey string
	clients  int
	duration time.Duration
	requests int // 0: no bound
	userIDs  []string
	// anonymousIDs, when set, are known visitors' anonymous ids: every
	// other event is theirs (anonymousId, no userId), as a website's
	// traffic mixes visitors and signed-in users.
	anonymousIDs []string
	// newEvery, when set, makes every newEvery-th event a new visitor's:
	// an anonymousId nobody holds (random-looking, unique to the run), so
	// every group commit resolves identities, as a website's does.
	newEvery int
	prefix   string // makes messageIds and new visitors' ids unique across runs
	ready    string // a path answering 200 once the server takes writes ("": listening is enough)
}

type loadResult struct {
	requests int64
	elapsed  time.Duration
	p50, p99 time.Duration
}

// body is one request's JSON, built with appends (the client's cost is
// shared with the server on the same cores; keep it small).
func (l *load) body(buf []byte, req int64, now time.Time) []byte {
	ts := now.UTC().Format(time.RFC3339Nano)
	buf = append(buf, `{"sentAt":"`...)
	buf = append(buf, ts...)
	buf = append(buf, `","batch":[`...)
	for i := 0; i < eventsPerRequest; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		n := int(req)*eventsPerRequest + i
		if l.newEvery > 0 && n%l.newEvery == 0 {
			buf = append(buf, `{"type":"track","event":"Product Viewed","anonymousId":"`...)
			buf = l.newVisitor(buf, n)
		} else if len(l.anonymousIDs) > 0 && n%2 == 1 {
			buf = append(buf, `{"type":"track","event":"Product Viewed","anonymousId":"`...)
			buf = append(buf, l.anonymousIDs[(n/2)%len(l.anonymousIDs)]...)
		} else {
			buf = append(buf, `{"type":"track","event":"Product Viewed","userId":"`...)
			buf = append(buf, l.userIDs[n%len(l.userIDs)]...)
		}
		buf = append(buf, `","messageId":"`...)
		buf = append(buf, l.prefix...)
		buf = strconv.AppendInt(append(buf, '-'), int64(n), 10)
		buf = append(buf, `","timestamp":"`...)
		buf = append(buf, ts...)
		buf = append(buf, `","properties":{"sku":"SKU-`...)
		buf = strconv.AppendInt(buf, int64(n%997), 10)
		buf = append(buf, `","price":9.99}}`...)
	}
	return append(buf, "]}"...)
}

// newVisitor appends the anonymous id of the new visitor of event n: the
// run's prefix and 16 hex digits that scatter consecutive events over the
// whole range of values, as SDKs' random ids do (ids sharing a prefix
// would let DuckDB skip most of identities by its value ranges).
func (l *load) newVisitor(buf []byte, n int) []byte {
	buf = append(buf, l.prefix...)
	buf = append(buf, '-')
	x := uint64(n)*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	h := strconv.AppendUint(nil, x, 16)
	for range 16 - len(h) {
		buf = append(buf, '0')
	}
	return append(buf, h...)
}

// run posts until done and returns the throughput and latencies of the
// requests answered 200. Any other answer is an error.
func (l *load) run(ctx context.Context, sent *atomic.Int64) (loadResult, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: l.clients, MaxConnsPerHost: l.clients}, Timeout: 2 * time.Minute}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, l.duration)
	defer cancel()
	var next atomic.Int64
	lat := make([][]time.Duration, l.clients)
	errs := make([]error, l.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < l.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for ctx.Err() == nil {
				req := next.Add(1) - 1
				if l.requests > 0 && req >= int64(l.requests) {
					return
				}
				buf = l.body(buf[:0], req, time.Now())
				d, err := l.post(ctx, client, buf)
				if err != nil {
					if ctx.Err() == nil {
						errs[c] = err
						cancel()
					}
					return
				}
				lat[c] = append(lat[c], d)
				sent.Add(eventsPerRequest)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return loadResult{}, err
		}
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return loadResult{}, fmt.Errorf("no request completed in %s", l.duration)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return loadResult{requests: int64(len(all)), elapsed: elapsed,
		p50: all[len(all)/2], p99: all[min(len(all)-1, len(all)*99/100)]}, nil
}

// StatusError is a /v1/batch answer other than 200.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("/v1/batch answered %d: %s", e.Status, e.Body)
}

func (l *load) post(ctx context.Context, client *http.Client, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(l.writeKey, "")
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return 0, &StatusError{Status: resp.StatusCode, Body: string(b)}
	}
	return d, nil
}
