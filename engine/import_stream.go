package engine

import (
	"context"
	"errors"
)

// streamQueue is how many converted rows may wait between the reader and
// the Appender.
const streamQueue = 1024

// streamRows reads src on a goroutine, turning rows into staged values with
// fn, and returns a pull function for the Appender (ok false when the rows
// are done) plus a function that waits for the reader and returns its
// error.
func streamRows[T any](ctx context.Context, src source, h *header, fn func(rc *rowCtx) (T, error)) (func() (T, bool), func() error) {
	feed := make(chan T, streamQueue)
	errc := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(feed)
		_, err := forEachRow(ctx, src, h, func(rc *rowCtx) error {
			row, err := fn(rc)
			if err != nil {
				return err
			}
			select {
			case feed <- row:
				return nil
			case <-stop:
				return errors.New("stopped")
			}
		})
		errc <- err
	}()
	pull := func() (T, bool) {
		row, ok := <-feed
		return row, ok
	}
	wait := func() error {
		close(stop)
		for range feed {
		}
		return <-errc
	}
	return pull, wait
}
