package line

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tactcdp/tact/channels"
)

// BenchmarkSend measures messages per second into the loopback LINE server:
// "tact" through the adapter (render, group, retry key, classify), "bare"
// a net/http loop posting the same requests with the same headers and the
// same number of requests in flight. Both sub-benchmarks run against fresh
// fakes in the same run, so their ratio is the adapter's overhead.
func BenchmarkSend(b *testing.B) {
	const inFlight = 4
	for _, mode := range []struct {
		name      string
		distinct  bool
		batchSize int
	}{
		{"push", true, 100},
		{"multicast", false, 1000},
	} {
		b.Run(mode.name+"/tact", func(b *testing.B) {
			f := newFakeLINE(b)
			a := newAdapter(b, f, &clock{now: t0}, func(c *Config) { c.Concurrency = inFlight; c.Now = time.Now })
			ctx := context.Background()
			msgs := batch(mode.batchSize, "line_winback", mode.distinct)
			var sent int
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for round := 0; sent < b.N; round++ {
				n := min(mode.batchSize, b.N-sent)
				for i := range msgs[:n] { // new sends each round: new keys
					msgs[i].IdempotencyKey = fmt.Sprintf("ik-%d-%d", round, i)
				}
				for _, r := range a.Send(ctx, msgs[:n]) {
					if r.Status != channels.StatusDelivered {
						b.Fatalf("%s %v", r.Reason, r.Err)
					}
				}
				sent += n
			}
			b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "msgs/s")
		})
		b.Run(mode.name+"/bare", func(b *testing.B) {
			f := newFakeLINE(b)
			client := &http.Client{Timeout: 30 * time.Second, Transport: NewTransport(inFlight)}
			// The same requests the adapter makes, built without templates.
			text := `[{"type":"text","text":"คุณลูกค้า เราคิดถึงคุณ! ใช้โค้ด BACK30 รับส่วนลด 30% ที่สาขาใกล้คุณ"}]`
			type req struct {
				path string
				body []byte
				n    int
			}
			var reqs []req
			if mode.distinct {
				for i := 0; i < b.N; i++ {
					reqs = append(reqs, req{pathPush, pushBody(userID(i%mode.batchSize), []byte(fmt.Sprintf(`[{"type":"text","text":"คุณคน%d เราคิดถึงคุณ! ใช้โค้ด BACK30 รับส่วนลด 30%% ที่สาขาใกล้คุณ"}]`, i)), false), 1})
				}
			} else {
				for sent := 0; sent < b.N; sent += MaxMulticast {
					n := min(MaxMulticast, b.N-sent)
					to := make([]string, n)
					for i := range to {
						to[i] = userID(i)
					}
					reqs = append(reqs, req{pathMulticast, multicastBody(to, []byte(text), false), n})
				}
			}
			var next, sent atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < inFlight; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1) - 1)
						if i >= len(reqs) {
							return
						}
						hr, _ := http.NewRequest(http.MethodPost, f.URL()+reqs[i].path, bytes.NewReader(reqs[i].body))
						hr.Header.Set("Authorization", "Bearer "+fakeToken)
						hr.Header.Set("Content-Type", "application/json")
						hr.Header.Set(HeaderRetryKey, PushRetryKey(fmt.Sprint(i)))
						resp, err := client.Do(hr)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
						sent.Add(int64(reqs[i].n))
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(sent.Load())/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
