package segments

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/eligibility"
	"github.com/tactcdp/tact/internal/dbtx"
)

// Saved is a saved segment definition with its membership state.
type Saved struct {
	Name        string     `json:"name"`
	Expression  string     `json:"expression"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Computation int64      `json:"computation"`
	ComputedAt  *time.Time `json:"computed_at,omitempty"`
	Members     int64      `json:"members"`
}

// Diff is the result of one computation of a saved segment's membership.
type Diff struct {
	Segment     string `json:"segment"`
	Computation int64  `json:"computation"`
	Members     int64  `json:"members"`
	Entered     int64  `json:"entered"`
	Exited      int64  `json:"exited"`
}

// Change is one entry or exit.
type Change struct {
	ProfileID   int64     `json:"profile_id"`
	Change      string    `json:"change"` // entered | exited
	Computation int64     `json:"computation"`
	At          time.Time `json:"at"`
}

// Change kinds.
const (
	Entered = "entered"
	Exited  = "exited"
)

var segmentNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// ErrUnknownSegment reports a saved segment that does not exist.
var ErrUnknownSegment = errors.New("no such saved segment")

func savedNames(ctx context.Context, st *engine.Store) ([]string, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT name FROM segments ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// NameError refuses a saved segment's name: not a valid name, or the
// segment refers to itself.
type NameError struct {
	Name string
	Msg  string
}

func (e *NameError) Error() string { return e.Msg }

// Save stores (or replaces) a named segment after compiling it against the
// store's schema, then computes its membership. A segment may not refer to
// itself.
func Save(ctx context.Context, st *engine.Store, name, src string) (Diff, error) {
	if !segmentNameRE.MatchString(name) {
		return Diff{}, &NameError{Name: name, Msg: fmt.Sprintf("segment name %q: want lower-case letters, digits, _ or -, starting with a letter", name)}
	}
	sc, err := SchemaFromStore(ctx, st)
	if err != nil {
		return Diff{}, err
	}
	if !contains(sc.Segments, name) {
		sc.Segments = append(sc.Segments, name)
	}
	seg, err := Compile(src, sc)
	if err != nil {
		return Diff{}, err
	}
	for _, d := range seg.Dependencies() {
		if d == name {
			return Diff{}, &NameError{Name: name, Msg: fmt.Sprintf("segment %q refers to itself", name)}
		}
	}
	now := evalNow(st)
	tx, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		return Diff{}, err
	}
	defer tx.Rollback()
	var created sql.NullTime
	_ = tx.QueryRowContext(ctx, `SELECT created_at FROM segments WHERE name = ?`, name).Scan(&created)
	if !created.Valid {
		created = sql.NullTime{Time: now, Valid: true}
	}
	var comp int64
	_ = tx.QueryRowContext(ctx, `SELECT computation FROM segments WHERE name = ?`, name).Scan(&comp)
	if _, err := tx.ExecContext(ctx, `DELETE FROM segments WHERE name = ?`, name); err != nil {
		return Diff{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO segments (name, expression, created_at, updated_at, computation) VALUES (?, ?, ?, ?, ?)`,
		name, src, created.Time, now, comp); err != nil {
		return Diff{}, err
	}
	if err := tx.Commit(); err != nil {
		return Diff{}, err
	}
	return Refresh(ctx, st, name)
}

// Get reads one saved segment.
func Get(ctx context.Context, st *engine.Store, name string) (Saved, error) {
	list, err := List(ctx, st)
	if err != nil {
		return Saved{}, err
	}
	for _, s := range list {
		if s.Name == name {
			return s, nil
		}
	}
	return Saved{}, fmt.Errorf("%w: %q", ErrUnknownSegment, name)
}

// List returns the saved segments with their member counts.
func List(ctx context.Context, st *engine.Store) ([]Saved, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT s.name, s.expression, s.created_at, s.updated_at, s.computation, s.computed_at,
  (SELECT count(DISTINCT profile_id) FROM segment_members m WHERE m.segment = s.name)
FROM segments s ORDER BY s.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Saved{}
	for rows.Next() {
		var s Saved
		var at sql.NullTime
		if err := rows.Scan(&s.Name, &s.Expression, &s.CreatedAt, &s.UpdatedAt, &s.Computation, &at, &s.Members); err != nil {
			return nil, err
		}
		if at.Valid {
			t := at.Time
			s.ComputedAt = &t
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Load compiles a saved segment against the store's current schema.
func Load(ctx context.Context, st *engine.Store, name string) (*Segment, error) {
	s, err := Get(ctx, st, name)
	if err != nil {
		return nil, err
	}
	sc, err := SchemaFromStore(ctx, st)
	if err != nil {
		return nil, err
	}
	return Compile(s.Expression, sc)
}

func token() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Refresh recomputes a saved segment's membership in bulk, records who
// entered and who exited since the previous computation, and returns the
// diff. Membership is the segment expression alone (no consent: journeys
// apply their audience's rule when they send).
func Refresh(ctx context.Context, st *engine.Store, name string) (Diff, error) {
	seg, err := Load(ctx, st, name)
	if err != nil {
		return Diff{}, err
	}
	now := evalNow(st)
	tok := token()
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		return Diff{}, err
	}
	defer conn.Close()
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `DELETE FROM segment_stage WHERE token = ?`, tok)
	}()

	// Stage the new members: one INSERT … SELECT for SQL segments, the
	// Appender for VM-filtered ones.
	if seg.path == PathSQL {
		from, args, err := seg.plan.from(ctx, st, now)
		if err != nil {
			return Diff{}, err
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO segment_stage SELECT CAST(? AS VARCHAR), p.id FROM "+from, append([]any{tok}, args...)...); err != nil {
			return Diff{}, fmt.Errorf("segment %s: %w", name, err)
		}
	} else {
		ids, err := seg.memberIDsAt(ctx, st, now)
		if err != nil {
			return Diff{}, err
		}
		if err := appendStage(ctx, conn, tok, ids); err != nil {
			return Diff{}, err
		}
	}
	// Restricted people and objectors are not profiled: they leave (or never
	// enter) every saved segment.
	if _, err := conn.ExecContext(ctx, `DELETE FROM segment_stage WHERE token = ? AND profile_id NOT IN (SELECT p.id FROM profiles p WHERE `+
		eligibility.ProfilingSQL("p")+`)`, tok); err != nil {
		return Diff{}, fmt.Errorf("segment %s: %w", name, err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return Diff{}, err
	}
	defer tx.Rollback()
	var comp int64
	if err := tx.QueryRowContext(ctx, `SELECT computation FROM segments WHERE name = ?`, name).Scan(&comp); err != nil {
		return Diff{}, err
	}
	comp++
	d := Diff{Segment: name, Computation: comp}
	steps := []struct {
		q    string
		args []any
		n    *int64
	}{
		{`INSERT INTO segment_changes SELECT CAST(? AS VARCHAR), CAST(? AS BIGINT), s.profile_id, 'entered', CAST(? AS TIMESTAMP) FROM (SELECT DISTINCT profile_id FROM segment_stage WHERE token = ?) s
  WHERE s.profile_id NOT IN (SELECT profile_id FROM segment_members WHERE segment = ?)`, []any{name, comp, now, tok, name}, &d.Entered},
		{`INSERT INTO segment_changes SELECT CAST(? AS VARCHAR), CAST(? AS BIGINT), m.profile_id, 'exited', CAST(? AS TIMESTAMP) FROM (SELECT DISTINCT profile_id FROM segment_members WHERE segment = ?) m
  WHERE m.profile_id NOT IN (SELECT profile_id FROM segment_stage WHERE token = ?)`, []any{name, comp, now, name, tok}, &d.Exited},
		{`DELETE FROM segment_members WHERE segment = ? AND profile_id NOT IN (SELECT profile_id FROM segment_stage WHERE token = ?)`, []any{name, tok}, nil},
		// Merges may have re-pointed two rows to one survivor: keep one.
		{`DELETE FROM segment_members WHERE segment = ? AND rowid NOT IN (SELECT min(rowid) FROM segment_members WHERE segment = ? GROUP BY profile_id)`, []any{name, name}, nil},
		{`INSERT INTO segment_members SELECT CAST(? AS VARCHAR), s.profile_id, CAST(? AS TIMESTAMP) FROM (SELECT DISTINCT profile_id FROM segment_stage WHERE token = ?) s
  WHERE s.profile_id NOT IN (SELECT profile_id FROM segment_members WHERE segment = ?)`, []any{name, now, tok, name}, nil},
		{`UPDATE segments SET computation = ?, computed_at = ? WHERE name = ?`, []any{comp, now, name}, nil},
	}
	for _, s := range steps {
		res, err := tx.ExecContext(ctx, s.q, s.args...)
		if err != nil {
			return Diff{}, fmt.Errorf("segment %s: %w", name, err)
		}
		if s.n != nil {
			*s.n, _ = res.RowsAffected()
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM segment_members WHERE segment = ?`, name).Scan(&d.Members); err != nil {
		return Diff{}, err
	}
	return d, tx.Commit()
}

func appendStage(ctx context.Context, conn *sql.Conn, tok string, ids []int64) error {
	return dbtx.AppendN(conn, "segment_stage", len(ids), func(i int) []driver.Value { return []driver.Value{tok, ids[i]} })
}

// InUseError refuses to delete a saved segment another one refers to
// (in_segment).
type InUseError struct {
	Name string
	By   []string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("segment %q is used by %s", e.Name, strings.Join(e.By, ", "))
}

// Delete removes a saved segment with its membership and change history.
// A segment another saved segment refers to is refused (*InUseError); an
// unknown name is an engine.NotFoundError.
func Delete(ctx context.Context, st *engine.Store, name string) error {
	all, err := List(ctx, st)
	if err != nil {
		return err
	}
	sc, err := SchemaFromStore(ctx, st)
	if err != nil {
		return err
	}
	found := false
	var by []string
	for _, s := range all {
		if s.Name == name {
			found = true
			continue
		}
		seg, err := Compile(s.Expression, sc, AllowUnknownTraits())
		if err != nil {
			continue // a segment that no longer compiles refers to nothing
		}
		if contains(seg.Dependencies(), name) {
			by = append(by, s.Name)
		}
	}
	if !found {
		return &engine.NotFoundError{What: fmt.Sprintf("saved segment %q", name)}
	}
	if len(by) > 0 {
		return &InUseError{Name: name, By: by}
	}
	tx, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM segment_changes WHERE segment = ?`, `DELETE FROM segment_members WHERE segment = ?`, `DELETE FROM segments WHERE name = ?`} {
		if _, err := tx.ExecContext(ctx, q, name); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Changes lists the entries and exits recorded by one computation (0: the
// latest).
func Changes(ctx context.Context, st *engine.Store, name string, computation int64) ([]Change, error) {
	if computation == 0 {
		s, err := Get(ctx, st, name)
		if err != nil {
			return nil, err
		}
		computation = s.Computation
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT profile_id, change, computation, at FROM segment_changes
WHERE segment = ? AND computation = ? ORDER BY profile_id, at`, name, computation)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.ProfileID, &c.Change, &c.Computation, &c.At); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Recheck re-evaluates one profile against a saved segment on the VM (the
// real-time path, e.g. after that profile's events, traits or consent
// changed) and updates its membership. It returns Entered, Exited or ""
// when nothing changed. The change is recorded under the current
// computation number.
func Recheck(ctx context.Context, st *engine.Store, name string, id int64) (string, error) {
	seg, err := Load(ctx, st, name)
	if err != nil {
		return "", err
	}
	in, err := seg.Match(ctx, st, id)
	if err != nil {
		return "", err
	}
	if in {
		p, err := st.Profile(ctx, id)
		if err != nil {
			return "", err
		}
		in = eligibility.Profiled(p.Restricted, p.Objected)
	}
	now := evalNow(st)
	tx, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	var was int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM segment_members WHERE segment = ? AND profile_id = ?`, name, id).Scan(&was); err != nil {
		return "", err
	}
	var comp int64
	if err := tx.QueryRowContext(ctx, `SELECT computation FROM segments WHERE name = ?`, name).Scan(&comp); err != nil {
		return "", err
	}
	change := ""
	switch {
	case in && was == 0:
		change = Entered
		if _, err := tx.ExecContext(ctx, `INSERT INTO segment_members VALUES (?, ?, ?)`, name, id, now); err != nil {
			return "", err
		}
	case !in && was > 0:
		change = Exited
		if _, err := tx.ExecContext(ctx, `DELETE FROM segment_members WHERE segment = ? AND profile_id = ?`, name, id); err != nil {
			return "", err
		}
	default:
		return "", nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO segment_changes VALUES (?, ?, ?, ?, ?)`, name, comp, id, change, now); err != nil {
		return "", err
	}
	return change, tx.Commit()
}
