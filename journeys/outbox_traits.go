package journeys

import (
	"context"
	"database/sql"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tactcdp/tact/engine"
)

// traitCols are the trait columns of the profile table (the columns that
// are not system columns) as the outbox page reads them. inPage says the
// page query selects them and they are read from its Arrow batches; when
// a column's type is not one read there, traitsOf reads them instead.
type traitCols struct {
	names  []string // column names, the keys of Message.Traits
	inPage bool
}

// arrowTraitType says a trait column of SQL type typ is read from Arrow
// batches: engine's trait types, each read as database/sql gives it
// (traitsOf).
func arrowTraitType(typ string) bool {
	switch typ {
	case "VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "BOOLEAN", "TIMESTAMP", "VARCHAR[]", "BIGINT[]", "DOUBLE[]", "BOOLEAN[]":
		return true
	}
	return false
}

// profileTraits lists the trait columns of the profile table, in order.
func (r *Runner) profileTraits(ctx context.Context) (traitCols, error) {
	system := map[string]bool{}
	for _, c := range engine.ProfileColumns() {
		system[c] = true
	}
	out := traitCols{inPage: true}
	err := eachRow(ctx, r.db, q("profile_columns"), nil, func(rows *sql.Rows) error {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return err
		}
		if !system[name] {
			out.names = append(out.names, name)
			out.inPage = out.inPage && arrowTraitType(typ)
		}
		return nil
	})
	return out, err
}

// selectList is the page query's trait columns of p (", p.a, p.b"; ""
// when they are not read in the page).
func (c traitCols) selectList() string {
	if !c.inPage {
		return ""
	}
	var b strings.Builder
	for _, n := range c.names {
		b.WriteString(`, p."` + strings.ReplaceAll(n, `"`, `""`) + `"`)
	}
	return b.String()
}

// traitsAt builds the traits of row k from the trait columns (NULLs left
// out), as traitsOf does; nil when the person has none.
func traitsAt(names []string, cols []column, k int) map[string]any {
	var t map[string]any
	for i := range cols {
		v, ok := cols[i].value(k)
		if !ok {
			continue
		}
		if t == nil {
			t = make(map[string]any, len(cols))
		}
		t[names[i]] = v
	}
	return t
}

// value is row k as database/sql gives it after plain (int32 as int,
// strings copied out of the batch, lists as []any); false for NULL.
func (c *column) value(k int) (any, bool) {
	if c.arr.IsNull(k) {
		return nil, false
	}
	switch x := c.arr.(type) {
	case *array.String:
		return c.unique(k), true
	case *array.Int64:
		return x.Value(k), true
	case *array.Int32:
		return int(x.Value(k)), true
	case *array.Float64:
		return x.Value(k), true
	case *array.Boolean:
		return x.Value(k), true
	case *array.Timestamp:
		return c.time(k), true
	case *array.List:
		return c.list(k), true
	}
	return nil, false
}

// list is the LIST at row k as []any, NULL elements as nil.
func (c *column) list(k int) []any {
	x := c.arr.(*array.List)
	from, to := x.ValueOffsets(k)
	vals := x.ListValues()
	out := make([]any, 0, to-from)
	for i := int(from); i < int(to); i++ {
		if vals.IsNull(i) {
			out = append(out, nil)
			continue
		}
		switch v := vals.(type) {
		case *array.String:
			out = append(out, strings.Clone(v.Value(i)))
		case *array.Int64:
			out = append(out, v.Value(i))
		case *array.Float64:
			out = append(out, v.Value(i))
		case *array.Boolean:
			out = append(out, v.Value(i))
		default:
			out = append(out, nil)
		}
	}
	return out
}
