// Package bench measures the segment evaluation paths side by side on one
// generated data set: the audience through the SQL path, the same
// expression on the VM over every profile, and a hand-written DuckDB query
// for the same predicate and consent rule (`tact bench`).
//
// The data set is written straight into a scratch store with set-based SQL
// (range() and hash()), not through the importer: the point is to time
// evaluation, and the importer's identity resolution would dominate the
// set-up time at ten million profiles. Suppression hashes are internally
// consistent (md5) rather than the store's keyed hash; the scratch store is
// never used for anything else.
package bench
