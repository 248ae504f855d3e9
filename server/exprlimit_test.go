package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/segments"
)

// TestExpressionsAreBounded: an expression over the size bound is refused
// with 400 naming the field, and one that runs past the server's time limit
// answers 503 time_limit instead of running on.
func TestExpressionsAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *Config, o *Options) {
		o.Segments = SegmentsAdapter{Store: o.Store, Limits: segments.Limits{Timeout: time.Nanosecond}}
	})
	e.person(map[string]any{"user_id": "u1", "email": "u1@example.com"})
	big := "email"
	for range 600 {
		big += ` + email`
	}
	code, body, _ := e.do("POST", "/api/v1/segments/count", tokRead, map[string]any{"expr": big + ` == "x"`})
	require.Equal(t, http.StatusBadRequest, code, string(body))
	_, field := errCode(t, body)
	require.Equal(t, "expr", field)

	code, body, _ = e.do("POST", "/api/v1/segments/count", tokRead, map[string]any{"expr": `email == "u1@example.com"`})
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	c, field := errCode(t, body)
	require.Equal(t, "time_limit", c)
	require.Equal(t, "expr", field)
}
