package sqlblock_test

import (
	"fmt"

	"github.com/tactcdp/tact/internal/sqlblock"
)

// ExampleParse: SQL lives in .sql files as named blocks; comments document
// them and are not sent.
func ExampleParse() {
	blocks, _ := sqlblock.Parse(`-- name: active
-- People inside a journey.
SELECT count(*) FROM journey_instances WHERE status = 'active';
`)
	fmt.Println(blocks["active"])
	// Output:
	// SELECT count(*) FROM journey_instances WHERE status = 'active';
}
