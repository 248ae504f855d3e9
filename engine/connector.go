package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marcboeker/go-duckdb"
)

// swapConnector is the store's driver.Connector: it hands out connections
// to the current DuckDB database and lets Compact replace that database
// under a *sql.DB that lives as long as the store. Every component keeps
// the one pool it was given; none is ever left holding a closed handle.
type swapConnector struct {
	mu  sync.RWMutex
	cur *duckdb.Connector
	// waiting counts Connect calls blocked by a swap. database/sql counts a
	// connection as in use from before it calls Connect, so without this
	// the drain would wait for callers that wait for the drain.
	waiting atomic.Int64
	// settings are applied to every connection (memory_limit, threads,
	// checkpoint_threshold).
	settings dbSettings
}

// dbSettings are DuckDB settings from the engine configuration, applied to
// each new connection so that they survive a swap.
type dbSettings struct {
	memoryLimit         string
	threads             int
	checkpointThreshold string
}

// apply sets the settings on one connection. DuckDB's settings are global
// to the database, so setting them per connection is idempotent.
func (d dbSettings) apply(ctx context.Context, ex driver.ExecerContext) error {
	if d.memoryLimit != "" {
		if _, err := ex.ExecContext(ctx, "SET memory_limit = '"+strings.ReplaceAll(d.memoryLimit, "'", "''")+"'", nil); err != nil {
			return fmt.Errorf("memory_limit %q: %w", d.memoryLimit, err)
		}
	}
	if d.threads > 0 {
		if _, err := ex.ExecContext(ctx, fmt.Sprintf("SET threads = %d", d.threads), nil); err != nil {
			return fmt.Errorf("threads %d: %w", d.threads, err)
		}
	}
	if d.checkpointThreshold != "" {
		if _, err := ex.ExecContext(ctx, "SET checkpoint_threshold = '"+strings.ReplaceAll(d.checkpointThreshold, "'", "''")+"'", nil); err != nil {
			return fmt.Errorf("checkpoint_threshold %q: %w", d.checkpointThreshold, err)
		}
	}
	return nil
}

func (d dbSettings) connector(dsn string) (*duckdb.Connector, error) {
	return duckdb.NewConnector(dsn, func(ex driver.ExecerContext) error {
		return d.apply(context.Background(), ex)
	})
}

// drainTimeout bounds how long a swap waits for connections in use.
const drainTimeout = 30 * time.Second

func newSwapConnector(dsn string, settings dbSettings) (*swapConnector, error) {
	c, err := settings.connector(dsn)
	if err != nil {
		return nil, err
	}
	return &swapConnector{cur: c, settings: settings}, nil
}

// Connect implements driver.Connector.
func (c *swapConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c.waiting.Add(1)
	c.mu.RLock()
	c.waiting.Add(-1)
	defer c.mu.RUnlock()
	return c.cur.Connect(ctx)
}

// Driver implements driver.Connector.
func (c *swapConnector) Driver() driver.Driver {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cur.Driver()
}

// Close closes the current database; sql.DB.Close calls it.
func (c *swapConnector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur.Close()
}

// inUse counts db's connections to the current database: those in use
// less the Connect calls waiting for the swap, which will connect to the
// next one. waiting is read first: a caller it counts has been counted by
// db since before it called Connect and stays so until the swap ends, so
// the difference never hides a connection really in use.
func (c *swapConnector) inUse(db *sql.DB) int {
	waiting := int(c.waiting.Load())
	return db.Stats().InUse - waiting
}

// replace drains db's connections to the current database; runs last on
// a private pool of that database, with nothing else connected (so no write
// can come after what last reads); closes it; runs between (which may move
// files: nothing has the database open); and opens dsn as the new current
// database. db keeps working throughout for callers that wait: Connect
// blocks while the swap holds the lock. If last fails, nothing is swapped.
func (c *swapConnector) replace(ctx context.Context, db *sql.DB, dsn string, last func(*sql.DB) error, between func() error) error {
	db.SetMaxIdleConns(0) // returned connections are closed, not pooled
	defer db.SetMaxIdleConns(2)
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline := time.Now().Add(drainTimeout)
	for c.inUse(db) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d connections still in use after %s (an unclosed Rows or Conn)", c.inUse(db), drainTimeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for open connections: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if last != nil {
		private := sql.OpenDB(unclosable{c.cur})
		err := last(private)
		if cerr := private.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if err := c.cur.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	moveErr := between()
	next, err := c.settings.connector(dsn)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	c.cur = next
	return moveErr
}

// unclosable is a connector whose database a private pool may use but not
// close (sql.DB.Close closes a connector that is an io.Closer).
type unclosable struct{ driver.Connector }
