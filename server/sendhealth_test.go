package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/journeys"
)

// TestFailingSendsShowInReadyzAndMetrics: when the provider refuses sends,
// /readyz says "degraded" with the failures by reason (still 200: the
// instance still ingests) and /metrics counts them by reason code.
func TestFailingSendsShowInReadyzAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	refused := channels.Permanent("smtp:550", errors.New("mailbox unavailable"))
	e.email.fail = &refused
	e.publish("name: hello\npurpose: marketing\nentry: api\nsteps:\n  - id: hi\n    send: {channel: email, template: welcome}\n")
	var entries []any
	for i := range 12 {
		u := fmt.Sprintf("u%d", i)
		e.person(map[string]any{"user_id": u, "email": u + "@example.com"}, "marketing/email")
		entries = append(entries, map[string]any{"user": u})
	}
	code, body, _ := e.do("POST", "/api/v1/journeys/hello/trigger", tokMarketer, map[string]any{"entries": entries})
	require.Equal(t, 200, code, string(body))

	ticks := make(chan struct{}, 10)
	sc := journeys.NewScheduler(e.runner, journeys.SchedulerConfig{Interval: time.Hour,
		OnTick: func(res journeys.TickResult, err error) { e.srv.metrics.ObserveTick(res, err); ticks <- struct{}{} }})
	e.srv.StartScheduler(sc)
	select {
	case <-ticks:
	case <-time.After(10 * time.Second):
		t.Fatal("no tick")
	}

	code, body, _ = e.do("GET", "/readyz", "", nil)
	require.Equal(t, 200, code, string(body))
	var ready struct {
		Status    string `json:"status"`
		Scheduler struct {
			Sends journeys.SendHealth `json:"sends"`
		} `json:"scheduler"`
	}
	require.NoError(t, json.Unmarshal(body, &ready))
	require.Equal(t, "degraded", ready.Status, string(body))
	require.Equal(t, map[string]int{"smtp:550": 12}, ready.Scheduler.Sends.FailedByReason)

	code, body, _ = e.do("GET", "/metrics", "", nil)
	require.Equal(t, 200, code)
	require.Contains(t, string(body), `tact_send_failures_total{reason="smtp:550"} 12`)
}
