package journeys

import (
	"database/sql/driver"
	"time"

	"github.com/tactcdp/tact/internal/dbtx"
)

// rowBuf builds Appender rows of one width cut from one backing array,
// boxing the values repeated down a batch (journey, step, kind, reason,
// channel, instants) once: boxing every value of every row was most of a
// send's allocations.
type rowBuf struct {
	width int
	cells []driver.Value
	rows  [][]driver.Value
	strs  map[string]driver.Value
	times map[time.Time]driver.Value
}

func newRowBuf(width, rows int) *rowBuf {
	return &rowBuf{width: width, cells: make([]driver.Value, 0, width*rows), rows: make([][]driver.Value, 0, rows),
		strs: map[string]driver.Value{}, times: map[time.Time]driver.Value{}}
}

// add appends one row of exactly width values.
func (b *rowBuf) add(v ...driver.Value) {
	b.cells = append(b.cells, v...)
	b.rows = append(b.rows, b.cells[len(b.cells)-b.width:len(b.cells):len(b.cells)])
}

// str boxes a repeated string once; "" is NULL (as nullStr).
func (b *rowBuf) str(s string) driver.Value {
	if s == "" {
		return nil
	}
	v, ok := b.strs[s]
	if !ok {
		v = s
		b.strs[s] = v
	}
	return v
}

// at boxes a repeated instant once.
func (b *rowBuf) at(t time.Time) driver.Value {
	v, ok := b.times[t]
	if !ok {
		v = t
		b.times[t] = v
	}
	return v
}

// log appends a journey_log row (the layout of logRow).
func (b *rowBuf) log(at time.Time, journey string, version int, step string, pid, iid int64, kind, reason, channel string) {
	c := logCells(b.at(at), b.str(journey), int32(version), b.str(step), pid, iid, b.str(kind), b.str(reason), b.str(channel))
	b.add(c[:]...)
}

// logCells is the column order of journey_log, for logRow and rowBuf.log.
func logCells(at, journey, version, step, pid, iid, kind, reason, channel driver.Value) [logWidth]driver.Value {
	return [logWidth]driver.Value{at, journey, version, step, pid, iid, kind, reason, channel}
}

// logWidth is the number of columns of journey_log.
const logWidth = 9

// appendEach bulk-loads n rows into table with DuckDB's Appender, asking
// row for each in turn; row may return the same slice every time (the
// Appender copies the values), so a batch needs no cells of its own.
func appendEach(t *tx, table string, n int, row func(i int) []driver.Value) error {
	return dbtx.AppendN(t.conn, table, n, row)
}
