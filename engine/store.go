package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/internal/dbtx"
	"github.com/tactcdp/tact/internal/sqlblock"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

//go:embed queries.sql
var queriesSQL string

// MemoryPath opens a database that lives only in memory.
const MemoryPath = ":memory:"

// Config is the engine's part of tact.yaml.
type Config struct {
	// Purposes adds purposes and notice versions to the built-in ones
	// (marketing, transactional, analytics, personalisation).
	Purposes []consent.Purpose `yaml:"purposes"`
	// DefaultRegion is the ISO 3166-1 alpha-2 country used to normalise
	// phone numbers written without a country code when the row has no
	// country column. Empty: such numbers are rejected.
	DefaultRegion string `yaml:"default_region"`
	// Retention gives how long events (by name) and traits are kept; see
	// RetentionPolicy. Empty: everything is kept.
	Retention RetentionPolicy `yaml:"retention"`
	// HashKey references the key of the keyed hashes (suppressions, merge
	// log, audit values), kept outside the database as 64 hex characters:
	// "file:PATH" (created with mode 0600 on first open) or "env:NAME".
	// Default: $TACT_HASH_KEY when set, else the file at the database path
	// with ".key" appended. A backup needs the key as well as the
	// database: without it the hashes cannot be matched.
	HashKey string `yaml:"hash_key"`
	// EventSkew is how far ahead of now an event timestamp (or a profile's
	// updated_at) may be; later ones are refused. Default 24h.
	EventSkew time.Duration `yaml:"event_skew"`
	// MemoryLimit caps the memory DuckDB uses (its memory_limit setting,
	// e.g. "1GB", "512MB"); larger work spills to disk. Default
	// DefaultMemoryLimit, so that an import's peak memory depends on this
	// setting, not on the size of the file.
	MemoryLimit string `yaml:"memory_limit"`
	// Threads is how many threads DuckDB uses; 0 (the default) is one per
	// core.
	Threads int `yaml:"threads"`
	// CheckpointThreshold is the write-ahead log size at which DuckDB
	// checkpoints (its checkpoint_threshold, e.g. "256MB"). DuckDB does it
	// inside the commit that crosses that size, and on a large database a
	// checkpoint takes seconds, so every writer waits behind that commit.
	// Default DefaultCheckpointThreshold; DuckDB's own is 16MB. A larger
	// value makes those stalls rarer, and a restart after a crash replays
	// a longer log (see checkpoint.go).
	CheckpointThreshold string `yaml:"checkpoint_threshold"`
	// CheckpointQuiet is how long the write-ahead log must stop growing
	// before a long-running process (tact serve) checkpoints on its own,
	// between writes (see Store.CheckpointWhenQuiet). Default
	// DefaultCheckpointQuiet; negative: never.
	CheckpointQuiet time.Duration `yaml:"checkpoint_quiet"`
}

// DefaultMemoryLimit is DuckDB's memory limit when Config.MemoryLimit is
// empty.
const DefaultMemoryLimit = "1GB"

func (c Config) dbSettings() dbSettings {
	limit := c.MemoryLimit
	if limit == "" {
		limit = DefaultMemoryLimit
	}
	threshold := c.CheckpointThreshold
	if threshold == "" {
		threshold = DefaultCheckpointThreshold
	}
	return dbSettings{memoryLimit: limit, threads: c.Threads, checkpointThreshold: threshold}
}

// Options configure Open. The zero value is usable.
type Options struct {
	Config Config
	// Clock supplies "now" for import and record times. Default: clock.Real.
	Clock clock.Clock
	// Logger receives operational logs, never personal data. Default: discard.
	Logger *slog.Logger
}

// Store is the Tact database: one DuckDB file (or memory) holding profiles,
// identities, events, the consent ledger, suppressions and everything built
// on them. It is safe for concurrent use; writes are serialised.
type Store struct {
	db      *sql.DB // for the store's lifetime; Compact swaps the database under it
	conn    *swapConnector
	path    string
	cfg     Config
	policy  consent.Policy
	clock   clock.Clock
	log     *slog.Logger
	hashKey []byte
	queries map[string]string

	writeMu sync.Mutex
	// epoch counts committed writes; see WriteEpoch.
	epoch atomic.Uint64

	hookMu      sync.Mutex
	erasureHook ErasureHook // erasure_hook.go
}

// lockedHint is the way out while tact serve holds the file: the same
// command through its API.
const lockedHint = "add --server URL (with TACT_TOKEN) to run the command through the running tact serve"

// LockedError reports that another process holds the database file.
type LockedError struct {
	Path string
	// Holder describes the holding process as DuckDB reports it, e.g.
	// "/usr/bin/tact (PID 1234)"; empty when unknown.
	Holder string
}

func (e *LockedError) Error() string {
	if e.Holder != "" {
		return fmt.Sprintf("database %s is in use by another process (%s); %s, stop it, or choose another --db", e.Path, e.Holder, lockedHint)
	}
	return fmt.Sprintf("database %s is in use by another process; %s, stop it, or choose another --db", e.Path, lockedHint)
}

var lockHolderRE = regexp.MustCompile(`Conflicting lock is held in (.*?)\. See also`)

// Open opens (creating if needed) the database at path, or an in-memory one
// for MemoryPath, and applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("database path is empty")
	}
	policy, err := consent.NewPolicy(opts.Config.Purposes)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if r := opts.Config.DefaultRegion; r != "" && !validRegion(r) {
		return nil, fmt.Errorf("config: default_region: %q is not a known ISO 3166-1 alpha-2 country", r)
	}
	dsn := path
	if path == MemoryPath {
		dsn = ""
	}
	if opts.Config.Threads < 0 {
		return nil, fmt.Errorf("config: threads: %d is negative", opts.Config.Threads)
	}
	connector, err := newSwapConnector(dsn, opts.Config.dbSettings())
	if err != nil {
		return nil, openError(path, err)
	}
	db := sql.OpenDB(connector)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, openError(path, err)
	}
	queries, err := sqlblock.Parse(queriesSQL)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, conn: connector, path: path, cfg: opts.Config, policy: policy, clock: opts.Clock, log: opts.Logger, queries: queries}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	if err := s.loadHashKey(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func openError(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "Could not set lock on file") {
		le := &LockedError{Path: path}
		if m := lockHolderRE.FindStringSubmatch(msg); m != nil {
			le.Holder = m[1]
		}
		return le
	}
	return fmt.Errorf("open database %s: %w", path, err)
}

// Close checkpoints and closes the database.
func (s *Store) Close() error {
	if s.path != MemoryPath {
		_, _ = s.db.Exec("CHECKPOINT")
	}
	return s.db.Close()
}

// DB is the connection pool, for read queries by the packages built on the
// store. Writes go through the Store's methods, which serialise them.
func (s *Store) DB() *sql.DB { return s.db }

// Path is the database path given to Open.
func (s *Store) Path() string { return s.path }

// Clock is the store's time source.
func (s *Store) Clock() clock.Clock { return s.clock }

// Policy is the consent policy from configuration.
func (s *Store) Policy() consent.Policy { return s.policy }

// Logger is the store's logger.
func (s *Store) Logger() *slog.Logger { return s.log }

// Query returns the named SQL block from queries.sql.
func (s *Store) query(name string) string {
	q, ok := s.queries[name]
	if !ok {
		panic("engine: no sql block named " + name) // a programming error, caught by tests
	}
	return q
}

// now is the store clock's instant truncated to DuckDB's microseconds.
func (s *Store) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// consentStateMigration reshapes consent_state; the rows it empties are
// rebuilt from the ledger in the same transaction.
const consentStateMigration = "0006_consent_supersession"

// appliedMigrations lists the versions schema_migrations records.
func (s *Store) appliedMigrations(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[string]bool{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return err
	}
	applied, err := s.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	entries, err := migrationFS.ReadDir("migrations")
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(name, ".sql")
		if applied[version] {
			continue
		}
		body, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return err
		}
		err = s.write(ctx, func(w *writer) error {
			if _, err := w.exec(string(body)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if version == consentStateMigration {
				if err := s.rebuildConsentState(w, allConsentProfiles); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			_, err := w.exec(`INSERT INTO schema_migrations VALUES (?, ?)`, version, s.now())
			return err
		})
		if err != nil {
			return err
		}
		s.log.Info("migration applied", "version", version)
	}
	return nil
}

// writer is one serialised write transaction on a dedicated connection.
// writer is the store's write transaction: a dbtx.Tx with the method
// names engine code uses.
type writer struct {
	ctx  context.Context
	conn *sql.Conn
	tx   *dbtx.Tx
	// temps are temp tables created with CREATE TEMP TABLE … AS, dropped
	// when the transaction ends.
	temps []string
}

// write runs fn in a transaction that holds the store's write lock. Temp
// tables fn creates through w.temp are dropped afterwards; if fn fails, the
// transaction is rolled back and the database is unchanged.
func (s *Store) write(ctx context.Context, fn func(w *writer) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := dbtx.Run(ctx, s.db, nil, func(t *dbtx.Tx) error {
		w := &writer{ctx: t.Ctx, conn: t.Conn, tx: t}
		defer func() { t.DropAfter(w.temps...) }()
		return fn(w)
	})
	if err == nil {
		s.epoch.Add(1)
	}
	return err
}

// WriteEpoch counts the store's committed writes. DuckDB lets one process
// write a database file, so a reader that saw epoch e and sees it again
// knows nothing was committed in between: the consent gate uses this to
// re-read exactly when a consent, flag or suppression may have changed.
func (s *Store) WriteEpoch() uint64 { return s.epoch.Load() }

func (w *writer) exec(q string, args ...any) (sql.Result, error) { return w.tx.Exec(q, args...) }

func (w *writer) query(q string, args ...any) (*sql.Rows, error) { return w.tx.Query(q, args...) }

func (w *writer) queryRow(q string, args ...any) *sql.Row { return w.tx.QueryRow(q, args...) }

// temp creates a temp table dropped when the transaction ends.
func (w *writer) temp(name, columns string) error { return w.tx.Temp(name, columns) }

// appendRows bulk-loads rows into table with DuckDB's Appender. next returns
// the next row, or nil when done.
func (w *writer) appendRows(table string, next func() ([]driver.Value, error)) (int, error) {
	return w.tx.Append(table, next)
}

// appendSlice is appendRows over an in-memory slice.
func (w *writer) appendSlice(table string, rows [][]driver.Value) error {
	return w.tx.AppendSlice(table, rows)
}
