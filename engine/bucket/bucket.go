// Package bucket owns the one stable hash that splits people into buckets:
// bucket(n) in expressions (segments and journey conditions alike, on the
// VM and in SQL), the global holdout of the send policy, and journey split
// steps. One hash means a 5 % holdout and `bucket(20) == 0` pick the same
// people.
package bucket

import "hash/fnv"

// golden is 2^64/φ, the Fibonacci hashing multiplier.
const golden = 11400714819323198485

// Of is the stable bucket of a profile id in [0, n): the high 32 bits of
// id·2^64/φ mod 2^64, modulo n. n ≤ 0 gives 0.
func Of(profileID int64, n int) int {
	if n <= 0 {
		return 0
	}
	x := uint64(profileID) * golden
	return int((x >> 32) % uint64(n))
}

// Salted is Of over the id mixed with a salt, for splits that must be
// sticky per step yet independent of one another and of the holdout.
func Salted(profileID int64, salt string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(salt))
	return Of(profileID^int64(h.Sum64()), n)
}

// SQL is Of as a DuckDB expression over the BIGINT column idColumn (code,
// never user text), with n bound as a HUGEINT parameter.
func SQL(idColumn string) string {
	// The product modulo 2^64, made non-negative (SQL's % keeps the sign),
	// is Go's wrapping uint64 multiplication.
	const mod = "CAST('18446744073709551616' AS HUGEINT)"
	x := "(((CAST(" + idColumn + " AS HUGEINT) * CAST('11400714819323198485' AS HUGEINT)) % " + mod + " + " + mod + ") % " + mod + ")"
	return "CAST((" + x + " // 4294967296) % ?::HUGEINT AS BIGINT)"
}
