// Package server is Tact's HTTP face: Segment-compatible ingestion
// (/v1/*), the admin JSON API (/api/v1/*) with role-scoped bearer tokens,
// the preference centre (/preferences) and RFC 8058 one-click unsubscribe
// (/unsubscribe), inbound SMS and provider delivery webhooks (/webhooks/*),
// and operations endpoints (/healthz, /readyz, /metrics). It also runs the
// journey scheduler loop when one is given.
//
// Ingestion is group-committed: requests enqueue their rows, one goroutine
// writes everything queued in one import per kind, and each request is
// answered only after the transaction holding its rows has committed.
//
// HTTP concerns (status codes, JSON errors, limits) live here; the engine,
// segments, journeys and channels packages know nothing of HTTP.
package server
