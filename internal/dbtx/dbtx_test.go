package dbtx_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"path/filepath"
	"testing"

	"github.com/marcboeker/go-duckdb"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/internal/dbtx"
)

// TestRunLeavesNoTempTables checks that the temp tables of a transaction
// are gone once it ends, committed or rolled back, on the connection the
// next transaction gets (one connection here), and that a commit keeps
// what the transaction wrote from them.
func TestRunLeavesNoTempTables(t *testing.T) {
	t.Parallel()
	c, err := duckdb.NewConnector(filepath.Join(t.TempDir(), "t.duckdb"), nil)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	_, err = db.ExecContext(ctx, "CREATE TABLE kept (n BIGINT)")
	require.NoError(t, err)

	write := func(fail bool) error {
		return dbtx.Run(ctx, db, nil, func(tx *dbtx.Tx) error {
			if err := tx.Temp("_a", "n BIGINT"); err != nil {
				return err
			}
			if err := tx.AppendSlice("_a", [][]driver.Value{{int64(1)}, {int64(2)}}); err != nil {
				return err
			}
			if _, err := tx.Exec("CREATE OR REPLACE TEMP TABLE _b AS SELECT n * 10 AS n FROM _a"); err != nil {
				return err
			}
			tx.DropAfter("_b", "_b")
			if _, err := tx.Exec("INSERT INTO kept SELECT n FROM _b"); err != nil {
				return err
			}
			if fail {
				return errors.New("refused")
			}
			return nil
		})
	}
	temps := func() int {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_tables() WHERE temporary").Scan(&n))
		return n
	}
	var sum int64
	require.NoError(t, write(false))
	require.Zero(t, temps(), "no temp table outlives a committed transaction")
	require.NoError(t, db.QueryRowContext(ctx, "SELECT sum(n) FROM kept").Scan(&sum))
	require.EqualValues(t, 30, sum)

	require.Error(t, write(true))
	require.Zero(t, temps(), "nor a rolled-back one")
	require.NoError(t, db.QueryRowContext(ctx, "SELECT sum(n) FROM kept").Scan(&sum))
	require.EqualValues(t, 30, sum, "the rolled-back insert is not kept")
	require.NoError(t, write(false))
	require.Zero(t, temps())
}
