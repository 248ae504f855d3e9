package bucket_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/marcboeker/go-duckdb"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine/bucket"
)

// TestSQLAgreesWithOf: the SQL form picks the same bucket for every id.
func TestSQLAgreesWithOf(t *testing.T) {
	t.Parallel()
	c, err := duckdb.NewConnector("", nil)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	defer db.Close()
	for _, n := range []int{1, 2, 7, 20, 100} {
		rows, err := db.QueryContext(context.Background(), "SELECT id, "+bucket.SQL("id")+" FROM range(-50, 5000) t(id)", n)
		require.NoError(t, err)
		for rows.Next() {
			var id int64
			var b int
			require.NoError(t, rows.Scan(&id, &b))
			require.Equal(t, bucket.Of(id, n), b, "id %d, n %d", id, n)
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
}

func TestBucketsAreEvenAndSaltsIndependent(t *testing.T) {
	t.Parallel()
	counts := make([]int, 20)
	same := 0
	for id := int64(1); id <= 100_000; id++ {
		counts[bucket.Of(id, 20)]++
		if bucket.Salted(id, "journey/split", 2) == bucket.Of(id, 2) {
			same++
		}
	}
	for b, n := range counts {
		require.InDelta(t, 5000, n, 250, "bucket %d", b)
	}
	require.InDelta(t, 50_000, same, 2_000, "a salted split is independent of the plain bucket")
}
