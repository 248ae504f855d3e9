package cluster_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/cluster"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := cluster.Config{}.WithDefaults()
	require.NoError(t, c.Validate())
	require.Equal(t, []string{cluster.DefaultURL}, c.URLs)
	require.Equal(t, 1, c.Replicas)
	require.Equal(t, 2*time.Minute, c.DuplicateWindow)
	require.Equal(t, 168*time.Hour, c.MaxAge)
	require.Equal(t, 10*time.Second, c.PublishTimeout)
	sc := c.StreamConfig()
	require.Equal(t, c.DuplicateWindow, sc.Duplicates)
	require.Equal(t, c.MaxAge, sc.MaxAge)
}

func TestNodeNeedsATokenBeyondLoopback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  cluster.Config
		msg  string
	}{
		{"default listen", cluster.Config{}, "required when the NATS server listens beyond loopback (server.listen 0.0.0.0:4222): the stream holds personal data"},
		{"cluster port", cluster.Config{Server: cluster.ServerConfig{Listen: "127.0.0.1:4222", ClusterListen: "10.0.0.1:6222"}}, "required when the NATS server listens beyond loopback (server.cluster_listen 10.0.0.1:6222): the stream holds personal data"},
		{"loopback", cluster.Config{Server: cluster.ServerConfig{Listen: "127.0.0.1:4222", ClusterListen: "localhost:6222"}}, ""},
		{"with a token", cluster.Config{Token: "0123456789abcdef"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.WithDefaults().ValidateNode()
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			var ce *cluster.ConfigError
			require.True(t, errors.As(err, &ce), "%v", err)
			require.Equal(t, "token", ce.Field)
			require.Equal(t, tc.msg, ce.Msg)
		})
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cfg   cluster.Config
		field string
		msg   string
	}{
		{"replicas", cluster.Config{Replicas: 6}, "replicas", "6 (want 1 to 5)"},
		{"short publish timeout", cluster.Config{PublishTimeout: 2 * time.Second}, "publish_timeout", "2s (want at least 10s: longer than a leader election)"},
		{"window past max age", cluster.Config{DuplicateWindow: 3 * time.Hour, MaxAge: 2 * time.Hour}, "duplicate_window", "3h0m0s is longer than max_age 2h0m0s"},
		{"short max age", cluster.Config{MaxAge: time.Minute}, "max_age", "1m0s (want at least 1h)"},
		{"batch size", cluster.Config{BatchSize: 200_000}, "batch_size", "200000 (want 1 to 100000)"},
		{"short token", cluster.Config{Token: "short"}, "token", "shorter than 16 characters"},
		{"listen", cluster.Config{Server: cluster.ServerConfig{Listen: "nohost"}}, "server.listen", `"nohost" (want host:port)`},
		{"routes without cluster_listen", cluster.Config{Server: cluster.ServerConfig{Routes: []string{"nats-route://a:6222"}}}, "server.cluster_listen", "required with routes"},
		{"sync interval", cluster.Config{Server: cluster.ServerConfig{SyncInterval: "sometimes"}}, "server.sync_interval", `"sometimes" (want a positive duration such as 30s, or always)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.WithDefaults().Validate()
			var ce *cluster.ConfigError
			require.True(t, errors.As(err, &ce), "%v", err)
			require.Equal(t, tc.field, ce.Field)
			require.Equal(t, tc.msg, ce.Msg)
		})
	}
}
