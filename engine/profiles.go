package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Traits lists the trait catalog in the order traits were added.
func (s *Store) Traits(ctx context.Context) ([]Trait, error) { return readTraits(ctx, s.db) }

// readTraits reads the trait catalogue in creation order, through the
// pool or a write transaction's connection.
func readTraits(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]Trait, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, type FROM traits ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Trait
	for rows.Next() {
		var t Trait
		if err := rows.Scan(&t.Name, &t.Type); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) traitTypes(ctx context.Context) (map[string]TraitType, error) {
	ts, err := s.Traits(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]TraitType, len(ts))
	for _, t := range ts {
		m[t.Name] = t.Type
	}
	return m, nil
}

// ResolveUser finds the profile an identifier of any kind belongs to: a
// user_id, an email, a phone, an anonymous_id or a device token, tried in
// that order. It returns a *NotFoundError when nobody matches.
func (s *Store) ResolveUser(ctx context.Context, identifier string) (int64, error) {
	ident := strings.TrimSpace(identifier)
	if ident == "" {
		return 0, &ValidationError{Field: "user", Msg: "empty identifier"}
	}
	for _, kind := range IdentityKinds() {
		v, err := normaliseIdentifier(kind, ident, s.cfg.DefaultRegion)
		if err != nil {
			continue
		}
		var id int64
		err = s.db.QueryRowContext(ctx, `SELECT profile_id FROM identities WHERE kind = ? AND value = ?`, kind, v).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	// The internal id other commands print ("#42", "id:42", or 42 when no
	// identifier matched).
	num := strings.TrimPrefix(strings.TrimPrefix(ident, "#"), "id:")
	if id, err := strconv.ParseInt(num, 10, 64); err == nil && id > 0 {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM profiles WHERE id = ?`, id).Scan(&n); err != nil {
			return 0, err
		}
		if n == 1 {
			return id, nil
		}
	}
	return 0, &NotFoundError{What: "the given identifier"}
}

// Identity is one identifier of a profile.
type Identity struct {
	Kind        string    `json:"kind"`
	Value       string    `json:"value"`
	Source      string    `json:"source"`
	FirstSeenAt time.Time `json:"first_seen_at"`
}

// Event is one stored event.
type Event struct {
	Event      string          `json:"event"`
	Timestamp  time.Time       `json:"timestamp"`
	Properties json.RawMessage `json:"properties,omitempty"`
	// Context is where and how the event happened, as the source sent it
	// (Segment's context object: page, device, IP address...).
	Context   json.RawMessage `json:"context,omitempty"`
	MessageID string          `json:"message_id"`
}

// Profile is everything the store keeps in a profile's own row.
type Profile struct {
	ID          int64          `json:"id"`
	UserID      string         `json:"user_id,omitempty"`
	Email       string         `json:"email,omitempty"`
	Phone       string         `json:"phone,omitempty"`
	Timezone    string         `json:"timezone,omitempty"`
	Restricted  bool           `json:"restricted"`
	Objected    bool           `json:"objected"`
	FirstSeenAt time.Time      `json:"first_seen_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	Traits      map[string]any `json:"traits"`
}

// Profile reads one profile row with its traits.
func (s *Store) Profile(ctx context.Context, id int64) (Profile, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT * FROM profiles WHERE id = ?`, id)
	if err != nil {
		return Profile{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Profile{}, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Profile{}, err
		}
		return Profile{}, &NotFoundError{What: fmt.Sprintf("profile id %d", id)}
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return Profile{}, err
	}
	p := Profile{Traits: map[string]any{}}
	str := func(v any) string {
		if v == nil {
			return ""
		}
		return v.(string)
	}
	for i, c := range cols {
		v := vals[i]
		switch c {
		case "id":
			p.ID = v.(int64)
		case "user_id":
			p.UserID = str(v)
		case "email":
			p.Email = str(v)
		case "phone":
			p.Phone = str(v)
		case "timezone":
			p.Timezone = str(v)
		case "restricted":
			p.Restricted = v.(bool)
		case "objected":
			p.Objected = v.(bool)
		case "first_seen_at":
			p.FirstSeenAt = v.(time.Time)
		case "updated_at":
			p.UpdatedAt = v.(time.Time)
		default:
			if v != nil {
				p.Traits[c] = v
			}
		}
	}
	return p, rows.Err()
}

// Identities lists a profile's identifiers.
func (s *Store) Identities(ctx context.Context, id int64) ([]Identity, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kind, value, source, first_seen_at FROM identities WHERE profile_id = ? ORDER BY kind, first_seen_at, value`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Identity
	for rows.Next() {
		var i Identity
		if err := rows.Scan(&i.Kind, &i.Value, &i.Source, &i.FirstSeenAt); err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// Events lists a profile's events, newest first; limit <= 0 means all.
func (s *Store) Events(ctx context.Context, id int64, limit int) ([]Event, error) {
	q := `SELECT event, ts, properties::VARCHAR, context::VARCHAR, message_id FROM events WHERE profile_id = ? ORDER BY ts DESC, message_id`
	args := []any{id}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var props, evCtx sql.NullString
		if err := rows.Scan(&e.Event, &e.Timestamp, &props, &evCtx, &e.MessageID); err != nil {
			return nil, err
		}
		if props.Valid {
			e.Properties = json.RawMessage(props.String)
		}
		if evCtx.Valid {
			e.Context = json.RawMessage(evCtx.String)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// MergeRecord is one merge or refused link from the merge log.
type MergeRecord struct {
	At             time.Time `json:"at"`
	Action         string    `json:"action"`
	ProfileID      int64     `json:"profile_id"`
	OtherID        int64     `json:"other_id"`
	IdentifierKind string    `json:"identifier_kind"`
	IdentifierHash string    `json:"identifier_hash"`
	Source         string    `json:"source"`
	Reason         string    `json:"reason"`
}

// Merges lists the merge log entries that concern a profile (all when id is 0).
func (s *Store) Merges(ctx context.Context, id int64) ([]MergeRecord, error) {
	q := `SELECT at, action, profile_id, other_id, identifier_kind, identifier_hash, source, reason FROM merges`
	var args []any
	if id != 0 {
		q += ` WHERE profile_id = ? OR other_id = ?`
		args = []any{id, id}
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY rowid`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MergeRecord
	for rows.Next() {
		var m MergeRecord
		if err := rows.Scan(&m.At, &m.Action, &m.ProfileID, &m.OtherID, &m.IdentifierKind, &m.IdentifierHash, &m.Source, &m.Reason); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Counts summarises what the store holds.
type Counts struct {
	Profiles       int `json:"profiles"`
	Identities     int `json:"identities"`
	Traits         int `json:"traits"`
	Events         int `json:"events"`
	Merges         int `json:"merges"`
	RefusedLinks   int `json:"refused_links"`
	ConsentEntries int `json:"consent_entries"`
	Suppressions   int `json:"suppressions"`
}

// Counts counts the rows of the main tables.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.db.QueryRowContext(ctx, s.query("counts")).Scan(&c.Profiles, &c.Identities, &c.Traits, &c.Events,
		&c.Merges, &c.RefusedLinks, &c.ConsentEntries, &c.Suppressions)
	return c, err
}

// maxMergeChain bounds how many merges SurvivorOf follows.
const maxMergeChain = 64

// SurvivorOf follows the merge log from profile id to the profile that now
// holds its data: id itself when it was never merged away. Links issued
// before a merge (unsubscribe, preferences) resolve through it.
func (s *Store) SurvivorOf(ctx context.Context, id int64) (int64, error) {
	var out int64
	err := s.db.QueryRowContext(ctx, `WITH RECURSIVE chain(id, depth) AS (
    SELECT ?::BIGINT, 0
    UNION
    SELECT m.profile_id, c.depth + 1 FROM chain c JOIN merges m ON m.other_id = c.id AND m.action = 'merge'
    WHERE c.depth < ?
)
SELECT id FROM chain ORDER BY depth DESC LIMIT 1`, id, maxMergeChain).Scan(&out)
	return out, err
}
