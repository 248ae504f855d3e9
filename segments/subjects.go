package segments

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/internal/dbtx"
)

// Subject is one journey instance a journey condition is evaluated for
// (segments compiled with ForJourney or ForEventEntry).
type Subject struct {
	// ProfileID is the person.
	ProfileID int64
	// EnteredAt is when the instance entered (`entered_at`).
	EnteredAt time.Time
	// Payload is the instance's entry payload (`payload`); nil is empty.
	Payload map[string]any
	// Event is the triggering event of an event-entry filter (`event`,
	// `timestamp`, `properties`); nil elsewhere.
	Event *Event
}

// MatchSubjects evaluates the segment for each subject at the instant now;
// out[i] is subjects[i]'s result, false for a profile that does not exist.
// An expression that reads no instance value and compiles wholly to SQL is
// one query over the subjects' profiles; otherwise the compiled conjuncts
// select candidates among them and the VM evaluates each subject, checking
// the time limit between subjects.
func (s *Segment) MatchSubjects(ctx context.Context, st *engine.Store, subjects []Subject, now time.Time) ([]bool, error) {
	out := make([]bool, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	now = now.UTC().Truncate(time.Microsecond)
	byID := make(map[int64][]int, len(subjects))
	ids := make([]int64, 0, len(subjects))
	for i, sub := range subjects {
		if _, seen := byID[sub.ProfileID]; !seen {
			ids = append(ids, sub.ProfileID)
		}
		byID[sub.ProfileID] = append(byID[sub.ProfileID], i)
	}
	slices.Sort(ids)
	err := s.bounded(ctx, func(ctx context.Context) error {
		if s.path == PathSQL && !s.uses.instance {
			members, err := s.sqlIDsIn(ctx, st, now, ids)
			for _, id := range members {
				for _, i := range byID[id] {
					out[i] = true
				}
			}
			return err
		}
		ev := s.NewEvaluator(Env{Now: now, Policy: st.Policy()})
		return s.scanWith(ctx, st, now, ids, false, func(snap *Snapshot, _ bool) error {
			for _, i := range byID[snap.ID] {
				if err := ctx.Err(); err != nil {
					return err
				}
				out[i], _ = ev.evalSubject(snap, &subjects[i])
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MemberIDsAt is MemberIDs at the instant now instead of the store clock's
// (journeys evaluate at their runner's clock). Instance values, if the
// segment was compiled for journeys, are empty.
func (s *Segment) MemberIDsAt(ctx context.Context, st *engine.Store, now time.Time) ([]int64, error) {
	var ids []int64
	err := s.bounded(ctx, func(ctx context.Context) (err error) {
		ids, err = s.memberIDsAt(ctx, st, now.UTC().Truncate(time.Microsecond))
		return err
	})
	return ids, err
}

// sqlIDsIn runs the SQL plan over the given profiles only (nil: every
// profile) and returns the members in ascending order.
func (s *Segment) sqlIDsIn(ctx context.Context, st *engine.Store, now time.Time, ids []int64) ([]int64, error) {
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	from, args, err := s.fromIn(ctx, conn, st, now, ids)
	if err != nil {
		return nil, err
	}
	out, err := dbtx.QueryColumn[int64](ctx, conn, "SELECT p.id FROM "+from+" ORDER BY p.id", args...)
	if err != nil {
		return nil, fmt.Errorf("segment query: %w", err)
	}
	return out, nil
}

// fromIn is plan.from restricted to ids (nil: every profile). The ids go
// to a temporary table of conn; only Go-formatted integers reach the SQL.
func (s *Segment) fromIn(ctx context.Context, conn sqlConn, st *engine.Store, now time.Time, ids []int64) (string, []any, error) {
	if ids == nil {
		return s.plan.from(ctx, st, now)
	}
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE seg_subjects (id BIGINT)"); err != nil {
		return "", nil, err
	}
	var b strings.Builder
	for len(ids) > 0 {
		n := min(len(ids), 10000)
		b.Reset()
		b.WriteString("INSERT INTO temp.seg_subjects VALUES ")
		for i, id := range ids[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			b.WriteString(strconv.FormatInt(id, 10))
			b.WriteByte(')')
		}
		if _, err := conn.ExecContext(ctx, b.String()); err != nil {
			return "", nil, err
		}
		ids = ids[n:]
	}
	joins, jargs, where, wargs, err := s.plan.parts(ctx, st, now)
	if err != nil {
		return "", nil, err
	}
	return "profiles p" + joins + " WHERE (" + where + ") AND p.id IN (SELECT id FROM temp.seg_subjects)", append(jargs, wargs...), nil
}

// CheckSyntax checks an expression without a schema (names and types are
// not checked): the size bounds, the syntax, and the constructs Compile
// refuses whatever the schema ($env, ranges). Journeys use it to re-read
// published specs. Errors are *Error.
func CheckSyntax(src string, opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	o.limits = o.limits.withDefaults()
	if err := precheck(src, o.limits); err != nil {
		return err
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return toError(src, err, nil)
	}
	var first *Error
	walk(tree.Node, func(n ast.Node) {
		if first != nil {
			return
		}
		line, col := position(src, n.Location().From)
		switch x := n.(type) {
		case *ast.IdentifierNode:
			if strings.HasPrefix(x.Value, "$") || strings.HasPrefix(x.Value, "_") {
				first = &Error{Line: line, Column: col, Msg: fmt.Sprintf("%s is not available in segment expressions", x.Value)}
			}
		case *ast.BinaryNode:
			if x.Operator == ".." {
				first = &Error{Line: line, Column: col, cause: ErrUnbounded, Msg: rangeRefusal}
			}
		}
	})
	if first != nil {
		return first
	}
	return nil
}
