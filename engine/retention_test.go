package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tactcdp/tact/engine"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"365d", 365 * 24 * time.Hour, ""},
		{"12w", 84 * 24 * time.Hour, ""},
		{"36h", 36 * time.Hour, ""},
		{"1y", 365 * 24 * time.Hour, ""},
		{" 90m ", 90 * time.Minute, ""},
		{"30", 0, "unit"},
		{"d", 0, "unit"},
		{"0d", 0, "positive"},
		{"-5d", 0, "positive"},
		{"5x", 0, "unknown unit"},
		{"99999y", 0, "too long"},
	} {
		got, err := engine.ParseDuration(c.in)
		if c.err != "" {
			require.ErrorContains(t, err, c.err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, time.Duration(got), c.in)
	}
	var p engine.RetentionPolicy
	require.NoError(t, yaml.Unmarshal([]byte("events:\n  page_viewed: 90d\n  \"*\": 730d\ntraits:\n  last_ip: 30d\n"), &p))
	require.Equal(t, engine.Duration(90*24*time.Hour), p.Events["page_viewed"])
	require.Equal(t, engine.Duration(730*24*time.Hour), p.Events["*"])
	require.Equal(t, engine.Duration(30*24*time.Hour), p.Traits["last_ip"])
	require.Error(t, yaml.Unmarshal([]byte("events:\n  x: soon\n"), &p))
}

func TestPurgeDeletesWhatExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, _ := openStore(t)
	// refNow is 2026-11-01. Events at several ages; two people, one stale.
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv",
		"user_id,last_ip,city,updated_at\nstale,10.1.2.3,Hat Yai,2025-06-01T00:00:00Z\nfresh,10.9.9.9,Chiang Mai,2026-10-20T00:00:00Z\n"))
	mustImport(t, s, engine.ImportEvents, writeFile(t, "e.csv", "user_id,event,timestamp\n"+
		"fresh,page_viewed,2026-10-25T00:00:00Z\n"+ // 7 days old
		"fresh,page_viewed,2026-07-01T00:00:00Z\n"+ // 4 months: past 90d
		"fresh,purchase,2026-07-01T00:00:00Z\n"+ // kept: purchase has 730d via *
		"stale,purchase,2024-06-01T00:00:00Z\n"+ // past 730d
		"stale,login,2026-01-01T00:00:00Z\n")) // login: * 730d, kept
	policy := engine.RetentionPolicy{
		Events: map[string]engine.Duration{"page_viewed": engine.Duration(90 * 24 * time.Hour), "*": engine.Duration(730 * 24 * time.Hour)},
		Traits: map[string]engine.Duration{"last_ip": engine.Duration(30 * 24 * time.Hour)},
	}
	// A policy naming a trait that does not exist changes nothing.
	before := snapshot(t, s)
	_, err := s.Purge(ctx, engine.RetentionPolicy{Traits: map[string]engine.Duration{"shoe_size": engine.Duration(time.Hour)}}, engine.PurgeOptions{})
	require.ErrorContains(t, err, "no such trait")
	require.Equal(t, before, snapshot(t, s))

	res, err := s.Purge(ctx, policy, engine.PurgeOptions{})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"page_viewed": 1, "*": 1}, res.EventsDeleted)
	require.Equal(t, map[string]int64{"last_ip": 1}, res.TraitsCleared)

	names := func(user string) []string {
		evs, err := s.Events(ctx, resolve(t, s, user), 0)
		require.NoError(t, err)
		var out []string
		for _, e := range evs {
			out = append(out, e.Event+"@"+e.Timestamp.Format("2006-01-02"))
		}
		return out
	}
	require.Equal(t, []string{"page_viewed@2026-10-25", "purchase@2026-07-01"}, names("fresh"))
	require.Equal(t, []string{"login@2026-01-01"}, names("stale"))
	stale, err := s.Profile(ctx, resolve(t, s, "stale"))
	require.NoError(t, err)
	require.NotContains(t, stale.Traits, "last_ip", "expired trait value cleared")
	require.Equal(t, "Hat Yai", stale.Traits["city"], "traits without a period are kept")
	fresh, err := s.Profile(ctx, resolve(t, s, "fresh"))
	require.NoError(t, err)
	require.Equal(t, "10.9.9.9", fresh.Traits["last_ip"])
	require.Equal(t, engine.AuditRetentionPurge, lastAudit(t, s).Action)
	require.NotContains(t, string(lastAudit(t, s).Details), "10.1.2.3")

	// Purging again deletes nothing more; time passing expires more.
	res, err = s.Purge(ctx, policy, engine.PurgeOptions{})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"page_viewed": 0, "*": 0}, res.EventsDeleted)
	clk.Advance(100 * 24 * time.Hour)
	res, err = s.Purge(ctx, policy, engine.PurgeOptions{Compact: true})
	require.NoError(t, err)
	require.Equal(t, int64(1), res.EventsDeleted["page_viewed"])
	require.Equal(t, int64(1), res.TraitsCleared["last_ip"])
	require.True(t, res.Compacted)
	_, err = s.VerifyAudit(ctx)
	require.NoError(t, err)
}
