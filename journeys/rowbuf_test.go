package journeys

import (
	"database/sql/driver"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

// TestRowBufRowsStayApart: rows cut from one backing array keep their own
// values as more are added (a row never aliases the next), "" is NULL and
// journey_log rows have logRow's layout.
func TestRowBufRowsStayApart(t *testing.T) {
	t.Parallel()
	b := newRowBuf(3, 1) // grows past its first capacity
	for i := int64(1); i <= 5; i++ {
		b.add(i, b.str("s"), b.str(""))
	}
	b.add(b.rows[0]...) // appending a copy of row 0 must not change row 0's neighbours
	require.Len(t, b.rows, 6)
	for i, row := range b.rows[:5] {
		require.Equal(t, []driver.Value{int64(i + 1), "s", nil}, row)
	}
	require.Equal(t, []driver.Value{int64(1), "s", nil}, b.rows[5])

	at := t0.Add(time.Hour)
	logs := newRowBuf(logWidth, 0)
	logs.log(at, "j", 2, "hello", 7, 9, "skipped", "", "email")
	require.Equal(t, logRow(at, "j", 2, "hello", 7, 9, "skipped", "", "email"), logs.rows[0])
}

// TestSendDueTimesList: the recent-sends list of send_due reads through
// Arrow as the timestamps in order, skipping NULL entries, and a NULL list
// (nobody sent to) as none.
func TestSendDueTimesList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var got [][]time.Time
	err := e.r.queryArrow(e.ctx, `SELECT * FROM (VALUES (1, [TIMESTAMP '2026-11-30 10:00:00', NULL, TIMESTAMP '2026-11-30 11:30:00']), (2, NULL::TIMESTAMP[]), (3, []::TIMESTAMP[])) t(k, l) ORDER BY k`, nil,
		func(n int) { require.Equal(t, 3, n) },
		func(rec arrow.Record) error {
			c, err := newColumn(rec.Column(1))
			if err != nil {
				return err
			}
			for k := 0; k < int(rec.NumRows()); k++ {
				got = append(got, c.times(k))
			}
			return nil
		})
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, []time.Time{time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 11, 30, 0, 0, time.UTC)}, got[0])
	require.Empty(t, got[1])
	require.Empty(t, got[2])
}
