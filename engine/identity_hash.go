package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"database/sql/driver"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tactcdp/tact/internal/dbtx"
)

// hashChunk is the range of key ids hashed between two reads: it bounds
// the values and hashes held in memory, whatever the input's size.
const hashChunk = 65536

// stageNewKeys selects the identifiers of _keys nobody holds yet into
// _newkeys and their keyed hashes into _khash, a range of key ids at a time,
// and returns how many there are. The hashes are HashIdentifier's,
// computed in Go on every core (DuckDB's sha256 is several times slower)
// and appended a chunk at a time.
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
		var kind []uint8
		var value []string
		err := dbtx.QueryArrow(w.ctx, w.conn, `SELECT kid, k, value FROM _keys SEMI JOIN _newkeys USING (kid) WHERE kid BETWEEN ? AND ?`, []any{lo, lo + hashChunk - 1}, func(rdr array.RecordReader) error {
			for rdr.Next() {
				rec := rdr.Record()
				kids, ks, vs, ok := newKeyColumns(rec.Column(0), rec.Column(1), rec.Column(2))
				if !ok {
					return fmt.Errorf("identity write: unexpected column types %s", rec.Schema())
				}
				// The batch is released after the read: values are copied.
				for i := range int(rec.NumRows()) {
					kid, kind = append(kid, kids.Value(i)), append(kind, ks.Value(i))
					value = append(value, strings.Clone(vs.Value(i)))
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		hashes := s.hashAll(kinds, kind, value)
		if err := dbtx.AppendN(w.conn, "_khash", len(kid), func(i int) []driver.Value {
			return []driver.Value{kid[i], hashes[i]}
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

// hashAll hashes identifiers (kind index, value) on every core, as bytes
// (half the size of their hex, which SQL writes).
func (s *Store) hashAll(kinds []string, kind []uint8, value []string) [][]byte {
	out := make([][]byte, len(value))
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(value) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(value); lo += chunk {
		hi := min(lo+chunk, len(value))
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := hmac.New(sha256.New, s.hashKey)
			for i := lo; i < hi; i++ {
				out[i] = hashIdentifierSum(m, kinds[kind[i]], value[i])
			}
		}()
	}
	wg.Wait()
	return out
}
