// Package webhook delivers journey steps to HTTP endpoints as signed JSON,
// and verifies such requests for receivers.
//
// Request:
//
//	POST <Message.To>
//	Content-Type: application/json
//	Idempotency-Key: <Message.IdempotencyKey>      (same on every retry)
//	X-Tact-Timestamp: <unix seconds of this attempt>
//	X-Tact-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// With several secrets (rotation) the signature header carries one v1=
// entry per secret, comma-separated; a receiver accepts the request if any
// entry matches any of its secrets. The body is the Payload document below.
//
// Delivery: 2xx is delivered. 408, 425, 429, 5xx, timeouts and network
// errors are retried within Send with exponential backoff (BaseDelay ×
// 2^attempt, capped at MaxDelay, jittered, Retry-After honoured), up to
// MaxAttempts; if still failing the result is transient (the outbox retries
// later with the same Idempotency-Key). Any other status is permanent.
//
// Receivers call Verify (or VerifyRequest) with a tolerance window, which
// refuses stale or future timestamps (replay protection), and should
// deduplicate on Idempotency-Key.
package webhook
