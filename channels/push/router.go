package push

import (
	"context"
	"strings"

	"github.com/tactcdp/tact/channels"
)

// Router is the "push" channel: it sends Web Push subscriptions (JSON
// objects) through WebPush and everything else (registration tokens)
// through FCM. A target whose adapter is not configured fails permanently.
type Router struct {
	WebPush channels.Channel // nil = Web Push not configured
	FCM     channels.Channel // nil = FCM not configured
}

var _ channels.Channel = (*Router)(nil)

// Name returns "push".
func (r *Router) Name() string { return channels.Push }

// IsWebPush reports whether a push target is a Web Push subscription.
func IsWebPush(to string) bool { return strings.HasPrefix(strings.TrimSpace(to), "{") }

// Send splits the batch by target kind and merges the results in order.
func (r *Router) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	out := make([]channels.Result, len(batch))
	var wpIdx, fcmIdx []int
	var wp, fcm []channels.Message
	for i, m := range batch {
		if IsWebPush(m.To) {
			wpIdx, wp = append(wpIdx, i), append(wp, m)
		} else {
			fcmIdx, fcm = append(fcmIdx, i), append(fcm, m)
		}
	}
	run := func(ch channels.Channel, idx []int, msgs []channels.Message, what string) {
		if len(msgs) == 0 {
			return
		}
		if ch == nil {
			for _, i := range idx {
				out[i] = channels.Permanent("not_configured", &channels.ProviderError{Provider: what, Message: what + " is not configured", Permanent: true})
			}
			return
		}
		for j, res := range ch.Send(ctx, msgs) {
			out[idx[j]] = res
		}
	}
	done := make(chan struct{})
	go func() { run(r.WebPush, wpIdx, wp, "webpush"); close(done) }()
	run(r.FCM, fcmIdx, fcm, "fcm")
	<-done
	return out
}
