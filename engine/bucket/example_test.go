package bucket_test

import (
	"fmt"

	"github.com/tactcdp/tact/engine/bucket"
)

// ExampleOf: the same person lands in the same bucket for bucket(n) in an
// expression, the global holdout (bucket.Of(id, 100) < percent) and, salted
// per step, journey splits.
func ExampleOf() {
	fmt.Println(bucket.Of(42, 100), bucket.Of(42, 100), bucket.Of(42, 20))
	first, again := bucket.Salted(42, "welcome/ab", 100), bucket.Salted(42, "welcome/ab", 100)
	fmt.Println(first == again)
	// Output:
	// 18 18 18
	// true
}
