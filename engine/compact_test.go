package engine_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestCompactKeepsThePool: a component that took the pool before an
// erasure rewrote the file (the journey runner, the server) goes on using
// it afterwards, and queries running alongside the rewrite wait for the new
// file instead of failing with "database is closed".
func TestCompactKeepsThePool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := openStore(t)
	seedPeople(t, s)
	db := s.DB()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				var n int
				errs <- db.QueryRowContext(ctx, `SELECT count(*) FROM profiles`).Scan(&n)
			}
		}()
	}
	_, err := s.Erase(ctx, erasedEmail, engine.EraseOptions{})
	require.NoError(t, err)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM profiles`).Scan(&n))
	require.Positive(t, n)
	require.Same(t, db, s.DB())
}
