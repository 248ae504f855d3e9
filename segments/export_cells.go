package segments

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// cellValue is the Go value of one Arrow cell as a member export writes
// it: nil when missing, int64, float64, bool, string, time.Time (UTC) or
// []any for a list. Non-finite floats become text (JSON has no NaN).
func cellValue(col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch x := col.(type) {
	case *array.Int64:
		return x.Value(i)
	case *array.Int32:
		return int64(x.Value(i))
	case *array.Int16:
		return int64(x.Value(i))
	case *array.Int8:
		return int64(x.Value(i))
	case *array.Uint64:
		return x.Value(i)
	case *array.Uint32:
		return int64(x.Value(i))
	case *array.Float64:
		return finite(x.Value(i))
	case *array.Float32:
		return finite(float64(x.Value(i)))
	case *array.Boolean:
		return x.Value(i)
	case *array.String:
		// Value aliases the record's buffer: copy, the record is released
		// after the callback.
		return strings.Clone(x.Value(i))
	case *array.LargeString:
		return strings.Clone(x.Value(i))
	case *array.Timestamp:
		return x.Value(i).ToTime(x.DataType().(*arrow.TimestampType).Unit).UTC()
	case *array.Date32:
		return x.Value(i).ToTime().UTC().Format(time.DateOnly)
	case *array.Dictionary: // a DuckDB ENUM
		return cellValue(x.Dictionary(), x.GetValueIndex(i))
	case array.ListLike:
		start, end := x.ValueOffsets(i)
		items := x.ListValues()
		out := make([]any, 0, end-start)
		for j := start; j < end; j++ {
			out = append(out, cellValue(items, int(j)))
		}
		return out
	}
	return col.ValueStr(i)
}

func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return f
}

// cellText is a cell value as CSV text: empty when missing, strings as
// they are, timestamps in RFC 3339, numbers, booleans and lists as JSON.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
