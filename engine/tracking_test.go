package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// TestTrackingStopsWhenPermissionStops (item 3): after a person withdraws
// analytics (on any channel, or through a withdraw-all), objects or is
// restricted, their behavioural events are not stored; unsubscribes and
// other consent facts still are; the drops are counted by reason.
func TestTrackingStopsWhenPermissionStops(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id\nu1\nu2\nu3\nu4\nu5\nu6\n"))
	mustImport(t, s, engine.ImportConsents, writeFile(t, "c.csv", "user_id,purpose,channel,status,timestamp\n"+
		"u1,analytics,sms,withdrawn,2026-10-01T00:00:00Z\n"+
		"u5,analytics,*,granted,2026-01-01T00:00:00Z\n"+
		"u5,,,withdrawn,2026-10-01T00:00:00Z\n"+
		"u6,analytics,*,granted,2026-10-01T00:00:00Z\n"))
	_, err := s.Object(ctx, "u2", engine.PrivacyOptions{})
	require.NoError(t, err)
	_, err = s.Restrict(ctx, "u3", engine.PrivacyOptions{})
	require.NoError(t, err)

	res := mustImport(t, s, engine.ImportEvents, writeFile(t, "e.csv", "user_id,event,timestamp\n"+
		"u1,page,2026-10-20T00:00:00Z\n"+
		"u1,email_opened,2026-10-20T00:00:01Z\n"+
		"u1,email_unsubscribed,2026-10-20T00:00:02Z\n"+
		"u2,purchase,2026-10-20T00:00:00Z\n"+
		"u3,purchase,2026-10-20T00:00:00Z\n"+
		"u4,purchase,2026-10-20T00:00:00Z\n"+
		"u5,purchase,2026-10-20T00:00:00Z\n"+
		"u6,purchase,2026-10-20T00:00:00Z\n"))
	require.Equal(t, map[string]int{"analytics_withdrawn": 3, "objected": 1, "restricted": 1}, res.EventsDropped)
	require.Equal(t, 3, res.EventsAdded)
	require.Zero(t, res.EventsDuplicate)
	for who, want := range map[string][]string{"u1": {"email_unsubscribed"}, "u2": nil, "u3": nil, "u4": {"purchase"}, "u5": nil, "u6": {"purchase"}} {
		evs, err := s.Events(ctx, resolve(t, s, who), 0)
		require.NoError(t, err)
		var names []string
		for _, e := range evs {
			names = append(names, e.Event)
		}
		require.Equal(t, want, names, who)
	}
	drops, err := s.EventDrops(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"analytics_withdrawn": 3, "objected": 1, "restricted": 1}, drops)

	// Feedback and API rows go through the same import: an open for u1.
	res, err = s.ImportRows(ctx, engine.ImportEvents, "feedback", []map[string]any{{"user_id": "u1", "event": "email_clicked", "timestamp": refNow}})
	require.NoError(t, err)
	require.Equal(t, 1, res.EventsDropped["analytics_withdrawn"])

	// A new grant restores tracking.
	require.NoError(t, s.RecordConsent(ctx, engine.ConsentInput{ProfileID: resolve(t, s, "u1"), Purpose: "analytics", Channel: "sms", Status: consent.Granted, Source: "test"}))
	res, err = s.ImportRows(ctx, engine.ImportEvents, "api", []map[string]any{{"user_id": "u1", "event": "page", "timestamp": refNow}})
	require.NoError(t, err)
	require.Equal(t, 1, res.EventsAdded)
}
