package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code. Errors are one
// line on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	app := &app{stdout: stdout, stderr: stderr, getenv: getenv}
	defer app.close()
	if err := app.dispatch(ctx, args); err != nil {
		if errors.Is(err, errHelpShown) {
			return 0
		}
		fmt.Fprintln(stderr, "tact: "+oneLine(err.Error()))
		return exitCode(err)
	}
	return 0
}
