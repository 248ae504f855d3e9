package channels

import (
	"context"
	"sync"
	"sync/atomic"
)

// SendEach is the fan-out used by adapters: it calls send for every message
// on up to n goroutines and returns the results in batch order. Messages
// not yet started when ctx is done get a transient result carrying ctx.Err().
func SendEach(ctx context.Context, batch []Message, n int, send func(context.Context, Message) Result) []Result {
	out := make([]Result, len(batch))
	if n < 1 {
		n = 1
	}
	n = min(n, len(batch))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(batch) {
					return
				}
				if err := ctx.Err(); err != nil {
					out[i] = Transient("context", err)
					continue
				}
				out[i] = send(ctx, batch[i])
			}
		}()
	}
	wg.Wait()
	return out
}
