package sqlblock_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/internal/sqlblock"
)

func TestParse(t *testing.T) {
	t.Parallel()
	got, err := sqlblock.Parse(`-- SQL of a package.
-- name: one
-- says what it does, with a %s in a comment
SELECT 1;

-- name: two
SELECT %s
FROM t;
`)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"one": "SELECT 1;", "two": "SELECT %s\nFROM t;"}, got)
	_, err = sqlblock.Parse("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n")
	require.ErrorContains(t, err, `sql block "a" defined twice`)
}
