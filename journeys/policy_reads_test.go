package journeys

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine/eligibility"
)

// TestPolicyReads: the send step reads people's zones only when the
// channel's policy has quiet hours or a cap, and their recent sends only
// for a cap; a transactional send reads neither.
func TestPolicyReads(t *testing.T) {
	t.Parallel()
	night := channels.QuietHours{Start: "21:00", End: "08:00"}
	for _, c := range []struct {
		name          string
		policy        PolicyConfig
		channel       string
		purpose       string
		zones, recent bool
	}{
		{"email, no policy", PolicyConfig{}, "email", "marketing", false, false},
		{"sms, default quiet hours", PolicyConfig{}, "sms", "marketing", true, false},
		{"email, quiet hours", PolicyConfig{QuietHours: map[string]channels.QuietHours{"email": night}}, "email", "marketing", true, false},
		{"email, an empty window", PolicyConfig{QuietHours: map[string]channels.QuietHours{"email": {Start: "21:00", End: "21:00"}}}, "email", "marketing", false, false},
		{"email, a cap", PolicyConfig{Caps: map[string]int{"email": 2}}, "email", "marketing", true, true},
		{"email, a cap elsewhere", PolicyConfig{Caps: map[string]int{"sms": 2}}, "email", "marketing", false, false},
		{"sms, transactional", PolicyConfig{Caps: map[string]int{"sms": 2}}, "sms", PurposeTransactional, false, false},
	} {
		r := &Runner{cfg: Config{Policy: c.policy}}
		zones, recent := r.policyReads(eligibility.Request{Purpose: c.purpose, Channel: c.channel, At: t0})
		require.Equal(t, []bool{c.zones, c.recent}, []bool{zones, recent}, c.name)
	}
}
