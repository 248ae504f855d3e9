package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/tactcdp/tact/internal/benchmark"
)

// TestMain lets `tact bench` re-execute this test binary as its child
// processes: with benchmark.EnvChild set, the binary is the tact command.
func TestMain(m *testing.M) {
	if os.Getenv(benchmark.EnvChild) != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
