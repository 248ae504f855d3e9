package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tactcdp/tact/engine/clock"
)

// limiter is a set of token buckets keyed by client IP or token. Idle
// buckets are dropped so memory stays bounded.
type limiter struct {
	mu      sync.Mutex
	clk     clock.Clock
	rate    float64
	burst   float64
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(clk clock.Clock, rate float64, burst int) *limiter {
	return &limiter{clk: clk, rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket.
func (l *limiter) allow(key string) bool {
	now := l.clk.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute || len(l.buckets) > 100_000 {
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Duration(l.burst/l.rate*float64(time.Second))+time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// clientIP is the peer address of r. X-Forwarded-For is not trusted: put
// the limit in the proxy when there is one.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tokenKey keys a bucket by a secret without keeping the secret in memory.
func tokenKey(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:12])
}

// rateLimited wraps a public handler with the per-IP limit and, when
// tokenOf returns a token, the per-token limit.
func (s *Server) rateLimited(name string, ipLimit, tokLimit *limiter, tokenOf func(*http.Request) string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.cfg.RateLimit.Disabled {
			if !ipLimit.allow(clientIP(r)) {
				s.metrics.rateLimited.WithLabelValues(name, "ip").Inc()
				s.writeError(w, r, errf(http.StatusTooManyRequests, "rate_limited", "", "too many requests from this address; retry later"))
				return
			}
			if tokenOf != nil {
				if tok := tokenOf(r); tok != "" && !tokLimit.allow(name+":"+tokenKey(tok)) {
					s.metrics.rateLimited.WithLabelValues(name, "token").Inc()
					s.writeError(w, r, errf(http.StatusTooManyRequests, "rate_limited", "", "too many requests for this link or key; retry later"))
					return
				}
			}
		}
		h(w, r)
	}
}
