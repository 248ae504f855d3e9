package journeys

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

// TestQuietHoursOneMeaning: journeys.quiet_hours is the one place quiet
// hours are set. A channel absent from it gets the default (SMS and LINE
// 21:00–08:00, none for email); a channel given {} has none.
func TestQuietHoursOneMeaning(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC) // 22:00: inside the default window
	zones := []*time.Location{time.UTC}
	def := PolicyConfig{}
	require.Equal(t, 8, def.heldUntil(channels.SMS, at, zones).Hour(), "sms: held to 08:00")
	require.Equal(t, 8, def.heldUntil("line", at, zones).Hour(), "line: held to 08:00")
	require.Equal(t, at, def.heldUntil(channels.Email, at, zones), "email: no default")
	off := PolicyConfig{QuietHours: map[string]channels.QuietHours{channels.SMS: {}}}
	require.Equal(t, at, off.heldUntil(channels.SMS, at, zones), "{} switches them off")
	own := PolicyConfig{QuietHours: map[string]channels.QuietHours{channels.Email: {Start: "20:00", End: "09:00"}}}
	require.Equal(t, 9, own.heldUntil(channels.Email, at, zones).Hour())
}
