package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tactcdp/tact/internal/dbtx"
)

// hashChunk is the range of key ids hashed between two reads: it bounds
// the values and hashes held in memory, whatever the input's size.
const hashChunk = 65536

// stageNewKeys selects the identifiers of _keys nobody holds yet into
// _newkeys and their keyed hashes into _khash, a range of key ids at a time
// (new-keys-range), and returns how many there are. The hashes are
// HashIdentifier's, computed in Go on every core (DuckDB's sha256 is
// several times slower) straight from the read batches, and appended a
// range at a time.
func (s *Store) stageNewKeys(w *writer) (int, error) {
	if _, err := w.exec(s.query("new-keys")); err != nil {
		return 0, fmt.Errorf("identity write: %w", err)
	}
	w.temps = append(w.temps, "_newkeys")
	var n, last int
	if err := w.queryRow(`SELECT count(*), coalesce(max(kid), 0) FROM _newkeys`).Scan(&n, &last); err != nil {
		return 0, err
	}
	if err := w.temp("_khash", "kid INTEGER, value_hash BLOB"); err != nil {
		return 0, err
	}
	kinds := IdentityKinds()
	for lo := 1; lo <= last; lo += hashChunk {
		var kid []int32
		var sums []byte
		hi := lo + hashChunk - 1
		err := dbtx.QueryArrow(w.ctx, w.conn, s.query("new-keys-range"), []any{lo, hi, lo, hi}, func(rdr array.RecordReader) error {
			for rdr.Next() {
				rec := rdr.Record()
				kids, ks, vs, ok := newKeyColumns(rec.Column(0), rec.Column(1), rec.Column(2))
				if !ok {
					return fmt.Errorf("identity write: unexpected column types %s", rec.Schema())
				}
				kid = append(kid, kids.Int32Values()...)
				sums = append(sums, s.hashAll(kinds, ks, vs)...)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if err := dbtx.AppendN(w.conn, "_khash", len(kid), func(i int) []driver.Value {
			return []driver.Value{kid[i], sums[i*sha256.Size : (i+1)*sha256.Size]}
		}); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// newKeyColumns types the columns of a batch of new keys (kid, k, value).
func newKeyColumns(a, b, c any) (*array.Int32, *array.Uint8, *array.String, bool) {
	kids, ok1 := a.(*array.Int32)
	ks, ok2 := b.(*array.Uint8)
	vs, ok3 := c.(*array.String)
	return kids, ks, vs, ok1 && ok2 && ok3
}

// hashAll hashes a batch of identifiers (kind index, value) on every core
// and returns their keyed hashes' bytes (HashIdentifier is their hex),
// sha256.Size bytes each, end to end. The values are read in place in the
// batch: nothing is copied or allocated per value.
func (s *Store) hashAll(kinds []string, kind *array.Uint8, value *array.String) []byte {
	n := value.Len()
	out := make([]byte, n*sha256.Size)
	inChunksOnEveryCore(n, func(lo, hi int) bool {
		m := hmac.New(sha256.New, s.hashKey)
		var scratch []byte
		for i := lo; i < hi; i++ {
			appendIdentifierSum(m, &scratch, out[i*sha256.Size:i*sha256.Size:(i+1)*sha256.Size], kinds[kind.Value(i)], value.Value(i))
		}
		return true
	})
	return out
}
