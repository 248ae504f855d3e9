package main

import (
	"context"

	"github.com/tactcdp/tact/engine"
)

// checkpointWhenQuiet runs st.CheckpointWhenQuiet for a long-running
// command (tact serve, tact journey run), so the log is checkpointed
// between writes rather than inside one (engine/checkpoint.go). The
// returned function stops it and waits, before the store is closed.
func checkpointWhenQuiet(ctx context.Context, st *engine.Store) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.CheckpointWhenQuiet(ctx)
	}()
	return func() { cancel(); <-done }
}
