package benchmark

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestServerStartsAgainOnAFreshPort: a server child whose port another
// process took between freeAddr's choice and the child's bind is started
// again on a fresh port (a CI run of the cluster leg failed with "bind:
// address already in use"); a child that never gets to listen fails with
// errExitedEarly after startAttempts.
func TestServerStartsAgainOnAFreshPort(t *testing.T) {
	t.Parallel()
	l := launcher{exe: os.Args[0], env: os.Environ()}
	dir := t.TempDir()
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = peer.Close() })
	// child is the ingest reference server on addr; with take, the test
	// first makes addr the local end of a connection, as a loaded
	// machine's outgoing connections can.
	child := func(take bool, given *[]string) func(addr string) *exec.Cmd {
		return func(addr string) *exec.Cmd {
			*given = append(*given, addr)
			if take {
				local, err := net.ResolveTCPAddr("tcp", addr)
				require.NoError(t, err)
				c, err := (&net.Dialer{LocalAddr: local}).Dial("tcp", peer.Addr().String())
				require.NoError(t, err)
				t.Cleanup(func() { _ = c.Close() })
			}
			spec, err := json.Marshal(task{Name: taskIngestRef, Addr: addr, Out: filepath.Join(dir, "log")})
			require.NoError(t, err)
			return l.command(context.Background(), []string{"bench"}, EnvSpec+"="+string(spec))
		}
	}

	var given []string
	first := true
	srv, addr, err := startOnFreeAddr(func(addr string) *exec.Cmd {
		take := first
		first = false
		return child(take, &given)(addr)
	})
	require.NoError(t, err)
	t.Cleanup(srv.kill)
	require.Len(t, given, 2, "started again after the first child could not bind")
	require.Equal(t, given[1], addr)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err, "the second child listens")
	require.NoError(t, c.Close())

	var always []string
	_, _, err = startOnFreeAddr(child(true, &always))
	require.ErrorIs(t, err, errExitedEarly)
	require.Len(t, always, startAttempts)
	var ce *ChildError
	require.ErrorAs(t, err, &ce)
	require.Contains(t, ce.Stderr, "address already in use", "the child's own reason is kept")
}
