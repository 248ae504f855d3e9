package journeys

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/eligibility"
)

// The columns of outbox_due, in order.
const (
	colKey = iota
	colInstance
	colJourney
	colVersion
	colStep
	colProfile
	colChannel
	colTemplate
	colURL
	colPurpose
	colMarketing
	colAttempts
	colCreated
	colPayload
	colToken
	colID
	colTries
	colInterrupted
	colEmail
	colPhone
	colTimezone
	outboxCols
)

// loadOutbox reads one page of due outbox rows. The page is read as Arrow
// record batches: a send costs a few allocations instead of one per column
// (database/sql boxes every value), strings repeated down a page (journey,
// step, template…) are shared and the unique ones (keys, addresses,
// string traits) are cut from one copy of each batch's string data. The
// traits come with the page when their types allow (profileTraits), else
// through database/sql (traitsOf).
func (r *Runner) loadOutbox(ctx context.Context, names []string, only string, now time.Time, cursor int64) ([]outRow, error) {
	traits, err := r.profileTraits(ctx)
	if err != nil {
		return nil, err
	}
	query, args := outboxQuery(names, only, now, cursor, r.cfg.PageSize, traits.selectList())
	var out []outRow
	in := interner{}
	err = r.queryArrow(ctx, query, args, func(n int) { out = make([]outRow, 0, n) }, func(rec arrow.Record) error {
		var err error
		out, err = appendOutRows(out, rec, in, traits)
		return err
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	if !traits.inPage && len(traits.names) > 0 {
		if err := r.readTraits(ctx, out, traits.names); err != nil {
			return nil, err
		}
	}
	none := map[string]any{} // read-only: shared by everyone without traits
	for i := range out {
		m := &out[i].msg
		if m.Traits == nil {
			m.Traits = none
		}
		if fn, ok := m.Traits["first_name"].(string); ok {
			m.ToName = fn
		}
	}
	return out, nil
}

// readTraits sets the traits of a page's messages through database/sql.
func (r *Runner) readTraits(ctx context.Context, out []outRow, names []string) error {
	pids := make([]int64, len(out))
	for i, o := range out {
		pids[i] = o.msg.ProfileID
	}
	traits, err := r.traitsOf(ctx, pids, names)
	if err != nil {
		return err
	}
	for i := range out {
		if t, ok := traits[out[i].msg.ProfileID]; ok {
			out[i].msg.Traits = t
		}
	}
	return nil
}

// outboxQuery is outbox_due for the channels names (and one journey, if
// only is set) after cursor, with the trait columns traits (a select list
// of p's columns, or "").
func outboxQuery(names []string, only string, now time.Time, cursor int64, pageSize int, traits string) (string, []any) {
	ph := strings.TrimSuffix(strings.Repeat("?,", len(names)), ",")
	filter := ""
	if only != "" {
		filter = "AND o.journey = ?"
	}
	// The channels and the journey filter apply to both ways a send is
	// undecided (no result; a due retry).
	scope := func(args []any) []any {
		for _, n := range names {
			args = append(args, n)
		}
		if only != "" {
			args = append(args, only)
		}
		return args
	}
	args := scope([]any{cursor, cursor})
	args = scope(append(args, cursor, now))
	args = append(args, pageSize)
	// Channels with several addresses (push, line) send to the address the
	// eligibility decision picks (eligibility.UsableAddressSQL), or, when
	// every one is suppressed, to the newest, which the gate refuses as
	// suppressed.
	var joins, tokens []string
	for i, n := range names {
		kind := eligibility.AddressKind(n)
		if kind == "" || eligibility.OneAddress(kind) {
			continue
		}
		a := fmt.Sprintf("addr%d", i)
		joins = append(joins, fmt.Sprintf("LEFT JOIN (%s) %s ON %s.profile_id = o.profile_id AND o.channel = '%s'",
			eligibility.UsableAddressSQL("(SELECT profile_id AS id FROM page)"), a, a, n))
		tokens = append(tokens, fmt.Sprintf("WHEN '%[1]s' THEN coalesce(%[2]s.usable, %[2]s.held)", n, a))
		args = append(args, kind)
	}
	tokenCol := "NULL::VARCHAR"
	if len(tokens) > 0 {
		tokenCol = "CASE o.channel " + strings.Join(tokens, " ") + " END"
	}
	return fmt.Sprintf(q("outbox_due"), tokenCol, strings.Join(joins, "\n"), ph, filter, traits), args
}

// appendOutRows turns one record batch of outbox_due into outRows, with
// their traits when the page has them.
func appendOutRows(out []outRow, rec arrow.Record, in interner, traits traitCols) ([]outRow, error) {
	want := outboxCols
	if traits.inPage {
		want += len(traits.names)
	}
	if int(rec.NumCols()) != want {
		return out, fmt.Errorf("outbox_due: %d columns, want %d", rec.NumCols(), want)
	}
	c := make([]column, want)
	for i := range c {
		col, err := newColumn(rec.Column(i))
		if err != nil {
			return out, fmt.Errorf("outbox_due column %d: %w", i, err)
		}
		c[i] = col
	}
	traitCol := c[outboxCols:]
	for k := 0; k < int(rec.NumRows()); k++ {
		id := c[colID].int64(k)
		if n := len(out); n > 0 && out[n-1].id == id {
			continue // a duplicated row (rows are in id order): one send per id
		}
		channel := in.get(c[colChannel].str(k))
		// Built in place: a local outRow escapes (its payload is decoded
		// through a pointer) and cost an allocation per send.
		out = append(out, outRow{instance: c[colInstance].int64(k), attempts: int(c[colAttempts].int64(k)), createdAt: c[colCreated].time(k), id: id,
			tries: int(c[colTries].int64(k)), interrupted: c[colInterrupted].bool(k), channel: channel, phone: c[colPhone].unique(k)})
		o := &out[len(out)-1]
		o.msg = channels.Message{
			IdempotencyKey: c[colKey].unique(k),
			Journey:        in.get(c[colJourney].str(k)),
			JourneyVersion: int(c[colVersion].int64(k)),
			Step:           in.get(c[colStep].str(k)),
			ProfileID:      c[colProfile].int64(k),
			Template:       in.get(c[colTemplate].str(k)),
			Purpose:        in.get(c[colPurpose].str(k)),
			Transactional:  !c[colMarketing].bool(k),
			Timezone:       in.get(c[colTimezone].str(k)),
		}
		o.msg.Traits = traitsAt(traits.names, traitCol, k)
		if payload := c[colPayload].str(k); payload != "" {
			_ = json.Unmarshal([]byte(payload), &o.msg.Payload)
		}
		switch kind := eligibility.AddressKind(channel); {
		case channel == channels.Webhook:
			o.msg.To = in.get(c[colURL].str(k))
		case kind == engine.KindEmail:
			o.msg.To = c[colEmail].unique(k)
		case kind == engine.KindPhone:
			o.msg.To = o.phone
		case kind != "" && !eligibility.OneAddress(kind):
			o.msg.To = c[colToken].unique(k)
		}
	}
	return out, nil
}

// traitsOf reads the trait columns names of people, by profile.
func (r *Runner) traitsOf(ctx context.Context, people []int64, names []string) (map[int64]map[string]any, error) {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
	}
	out := make(map[int64]map[string]any, len(people))
	vals := make([]any, len(names)+1)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	query := "SELECT id, " + strings.Join(quoted, ", ") + " FROM profiles WHERE id IN (" + intList(people) + ")"
	err := eachRow(ctx, r.db, query, nil, func(rows *sql.Rows) error {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		t := map[string]any{}
		for i, c := range names {
			if v := vals[i+1]; v != nil {
				t[c] = plain(v)
			}
		}
		out[vals[0].(int64)] = t
		return nil
	})
	return out, err
}

// interner shares the strings repeated down a page: a hit costs no
// allocation.
type interner map[string]string

func (in interner) get(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in[s]; ok {
		return v
	}
	v := strings.Clone(s)
	in[v] = v
	return v
}

// column reads one Arrow column of outbox_due. Strings returned by str
// point into the batch's memory (valid until it is released); unique
// copies them out of a per-batch Go copy of the string data.
type column struct {
	arr  arrow.Array
	strs *array.String
	data string // lazily copied string data of strs
}

func newColumn(a arrow.Array) (column, error) {
	switch x := a.(type) {
	case *array.String:
		return column{arr: a, strs: x}, nil
	case *array.Int64, *array.Int32, *array.Float64, *array.Boolean, *array.Timestamp, *array.Null, *array.List:
		return column{arr: a}, nil
	}
	return column{}, fmt.Errorf("unexpected arrow type %s", a.DataType())
}

func (c *column) str(k int) string {
	if c.strs == nil || c.strs.IsNull(k) {
		return ""
	}
	return c.strs.Value(k)
}

func (c *column) unique(k int) string {
	if c.strs == nil || c.strs.IsNull(k) {
		return ""
	}
	if c.data == "" {
		c.data = string(c.strs.ValueBytes())
	}
	offs := c.strs.ValueOffsets() // len+1 offsets; ValueBytes starts at the first
	return c.data[offs[k]-offs[0] : offs[k+1]-offs[0]]
}

func (c *column) int64(k int) int64 {
	switch x := c.arr.(type) {
	case *array.Int64:
		return x.Value(k)
	case *array.Int32:
		return int64(x.Value(k))
	}
	return 0
}

func (c *column) bool(k int) bool {
	x, ok := c.arr.(*array.Boolean)
	return ok && !x.IsNull(k) && x.Value(k)
}

func (c *column) time(k int) time.Time {
	x, ok := c.arr.(*array.Timestamp)
	if !ok || x.IsNull(k) {
		return time.Time{}
	}
	unit := x.DataType().(*arrow.TimestampType).Unit
	return x.Value(k).ToTime(unit)
}

// times reads a LIST of timestamps (nil for NULL or another type).
func (c *column) times(k int) []time.Time {
	x, ok := c.arr.(*array.List)
	if !ok || x.IsNull(k) {
		return nil
	}
	vals, ok := x.ListValues().(*array.Timestamp)
	if !ok {
		return nil
	}
	unit := vals.DataType().(*arrow.TimestampType).Unit
	from, to := x.ValueOffsets(k)
	out := make([]time.Time, 0, to-from)
	for i := from; i < to; i++ {
		if !vals.IsNull(int(i)) {
			out = append(out, vals.Value(int(i)).ToTime(unit))
		}
	}
	return out
}
