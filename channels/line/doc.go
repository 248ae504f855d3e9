// Package line owns Tact's LINE Official Account channel: sending over the
// LINE Messaging API and reading its webhooks. It is a small client of its
// own over net/http (not the official SDK: that SDK sets the request context
// on the shared client, takes typed message structs rather than our
// rendered JSON, and puts raw webhook bodies into its errors).
//
// # Sending
//
// Adapter implements channels.Channel (Name "line"). Message.To is the LINE
// user id ("U" and 32 hex digits) valid within Config.ProviderID; the
// message is rendered from the template NAME.line.json (see
// channels/templates: a JSON array of up to five LINE message objects).
// Send groups the batch by rendered content: a group of one goes by
// POST /v2/bot/message/push, larger groups by POST /v2/bot/message/multicast
// in chunks of at most MaxMulticast (500) user ids. Every call carries
// X-Line-Retry-Key, a UUID derived from the idempotency keys (PushRetryKey,
// MulticastRetryKey), so resending a batch after a crash does not send
// twice: LINE answers 409 with X-Line-Accepted-Request-Id, which is a
// delivered result.
//
// Answers: 200 and 409 delivered; 400 permanent (LINE's message and
// details in a *channels.ProviderError); 401/403 permanent
// (ErrUnauthorized); 429 "Too many requests", 5xx and network errors are
// retried with the same retry key (honouring Retry-After), then transient;
// 429 "You have reached your monthly limit." pauses the channel
// (ErrQuotaExhausted): later sends return transient results without a call
// until the quota resets (ResetTime, Asia/Tokyo by default), when the quota
// endpoints are read again. State, Paused and PausedGauge expose the pause;
// Resume lifts it by hand (after raising the plan's limit).
//
// # Webhooks
//
// WebhookReceiver.Read verifies X-Line-Signature (HMAC-SHA256 of the raw
// body with the channel secret, constant time) before parsing anything and
// returns the follow, unfollow, message, postback and accountLink events as
// Event values; Handler wraps it as an http.Handler. The caller
// de-duplicates on Event.ID (webhookEventId) and acts: follow makes the
// person reachable, unfollow unreachable, message and postback are events.
// The webhook is the only signal of a block: LINE accepts a push or
// multicast to someone who blocked the account (and does not count it), so
// the unfollow event, not a send result, must stop further sends.
//
// # Wiring (for cmd/tact and server)
//
// channels/setup builds the Adapter from the "channels.line" section and
// puts it in Set.Channels["line"]; Set.LINE holds the *Adapter (for State
// and CheckQuota) and Set.LINEWebhook the WebhookReceiver. The server
// mounts Set.LINEWebhook.Handler(fn) at /webhooks/line, registers
// prometheus.NewGaugeFunc(..., Set.LINE.PausedGauge), and reports
// Set.LINE.State() in its health output.
//
// Nothing here logs or returns personal data or the channel access token:
// errors carry LINE's error message (property names, never values) and
// results name the message by its idempotency key only.
package line
