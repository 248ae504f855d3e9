package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine/consent"
)

// ExportSchema names the export document format.
const ExportSchema = "tact.privacy.export/v1"

// PersonalDataExport is everything the store holds about one person: the
// access and portability document (schema tact.privacy.export/v1).
//
// Data-subject rights (GDPR Arts. 15–21, Thai PDPA ss. 30–36) as store
// operations. Each one resolves the person from any identifier (user_id,
// email, phone, anonymous_id, device_token), records a request in
// privacy_requests (or fulfils an open one, see OpenRequest), does its work
// and appends an audit entry, all in one transaction: an unknown person is a
// *NotFoundError and nothing changes.
//
// ExportPersonalData returns, and `tact privacy export` prints, one JSON
// object:
//
//	{
//	  "schema":       "tact.privacy.export/v1",
//	  "generated_at": RFC 3339 time,
//	  "request_id":   the access request this answers,
//	  "profile": {                       // the profile row
//	    "id", "user_id", "email", "phone", "timezone",
//	    "restricted", "objected", "first_seen_at", "updated_at",
//	    "traits": {name: value}          // every non-missing trait
//	  },
//	  "trait_types":  {name: DuckDB type}, // for the traits present
//	  "identities":   [{"kind", "value", "source", "first_seen_at"}],
//	  "events":       [{"event", "timestamp", "properties"?, "context"?, "message_id"}], newest first
//	  "messages":            [row objects],  // tables named *outbox*/*message*/*send*/*deliver*
//	  "segment_memberships": [row objects],  // else tables named *segment*/*membership*
//	  "journey_history":     [row objects],  // else tables named *journey*
//	  "other_tables": {table: [row objects]}, // any other table with a profile_id column
//	  "consent_ledger": [{"seq", "purpose", "channel", "status", "effective_at",
//	                      "recorded_at", "expires_at"?, "notice_version"?, "source", "actor"}],
//	  "consent_state":  [{"purpose", "channel", "granted", "reason", "entry"?}], every known
//	                    purpose on every channel, decided at generated_at
//	  "suppressions":   [{"kind", "reason", "created_at"}], for the person's own addresses
//	  "merges":         [{"at", "action", "profile_id", "other_id", "identifier_kind",
//	                      "identifier_hash", "source", "reason"}],
//	  "requests":       [{"id", "kind", "received_at", "due_at", "status",
//	                      "completed_at"?, "outcome"?, "actor", "overdue"}]
//	}
//
// Every array is present (empty, never null) even when the table behind it
// does not exist yet. The membership, journey and message sections are
// found by table presence (any table with a profile_id column), each row an
// object of its columns, so tables added by later migrations are exported
// without changing this code.
type PersonalDataExport struct {
	Schema             string                      `json:"schema"`
	GeneratedAt        time.Time                   `json:"generated_at"`
	RequestID          int64                       `json:"request_id"`
	Profile            Profile                     `json:"profile"`
	TraitTypes         map[string]TraitType        `json:"trait_types"`
	Identities         []Identity                  `json:"identities"`
	Events             []Event                     `json:"events"`
	SegmentMemberships []map[string]any            `json:"segment_memberships"`
	JourneyHistory     []map[string]any            `json:"journey_history"`
	Messages           []map[string]any            `json:"messages"`
	OtherTables        map[string][]map[string]any `json:"other_tables"`
	ConsentLedger      []consent.Entry             `json:"consent_ledger"`
	ConsentState       []ConsentView               `json:"consent_state"`
	Suppressions       []ExportSuppression         `json:"suppressions"`
	Merges             []MergeRecord               `json:"merges"`
	Requests           []Request                   `json:"requests"`
}

// ExportSuppression is a suppression of one of the person's addresses.
type ExportSuppression struct {
	Kind      string    `json:"kind"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}

// coreTables are the engine's own tables with a profile_id column, which
// the export reads through typed accessors.
var coreTables = map[string]bool{ //nolint:gochecknoglobals // read-only after initialisation
	"identities": true, "events": true, "consent_ledger": true, "consent_state": true,
	"merges": true, "privacy_requests": true,
}

// ExportEncodingError reports held data that cannot be written as the
// export document; the access request stays open.
type ExportEncodingError struct{ Err error }

// Error says the export could not be encoded.
func (e *ExportEncodingError) Error() string {
	return "the export cannot be encoded (a stored value is out of range): " + e.Err.Error()
}

// Unwrap returns the encoding error.
func (e *ExportEncodingError) Unwrap() error { return e.Err }

func trimmed(s string) string { return strings.TrimSpace(s) }

// ExportPersonalData answers an access/portability request: everything held
// about the person user identifies. It records (or fulfils) an access
// request and audits the export.
func (s *Store) ExportPersonalData(ctx context.Context, user string, opts PrivacyOptions) (*PersonalDataExport, error) {
	var doc *PersonalDataExport
	err := s.write(ctx, func(w *writer) error {
		id, err := s.resolveIn(w, user)
		if err != nil {
			return err
		}
		req, err := s.beginRequest(w, RequestAccess, id, opts)
		if err != nil {
			return err
		}
		doc, err = s.collectExport(ctx, w, id)
		if err != nil {
			return err
		}
		// A request is completed only with a document that can be
		// delivered: a value JSON cannot encode (a year past 9999) would
		// otherwise leave an empty answer behind a completed request.
		if _, err := json.Marshal(doc); err != nil {
			return &ExportEncodingError{Err: err}
		}
		if err := s.completeRequest(w, &req, "exported"); err != nil {
			return err
		}
		doc.RequestID = req.ID
		replaced := false
		for i := range doc.Requests {
			if doc.Requests[i].ID == req.ID {
				doc.Requests[i], replaced = req, true
			}
		}
		if !replaced {
			doc.Requests = append(doc.Requests, req)
		}
		counts := map[string]int{
			"identities": len(doc.Identities), "traits": len(doc.Profile.Traits), "events": len(doc.Events),
			"consent_entries": len(doc.ConsentLedger), "segment_memberships": len(doc.SegmentMemberships),
			"journey_history": len(doc.JourneyHistory), "messages": len(doc.Messages), "merges": len(doc.Merges),
		}
		return s.audit(w, orStr(opts.Actor, "operator"), AuditPrivacyExport, profileSubject(id), map[string]any{"request_id": req.ID, "sections": counts})
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("personal data exported", "request_id", doc.RequestID)
	return doc, nil
}

func (s *Store) collectExport(ctx context.Context, w *writer, id int64) (*PersonalDataExport, error) {
	now := s.now()
	doc := &PersonalDataExport{Schema: ExportSchema, GeneratedAt: now, TraitTypes: map[string]TraitType{},
		SegmentMemberships: []map[string]any{}, JourneyHistory: []map[string]any{}, Messages: []map[string]any{},
		OtherTables: map[string][]map[string]any{}, Suppressions: []ExportSuppression{}}
	var err error
	if doc.Profile, err = s.Profile(ctx, id); err != nil {
		return nil, err
	}
	types, err := s.traitTypes(ctx)
	if err != nil {
		return nil, err
	}
	for name := range doc.Profile.Traits {
		doc.TraitTypes[name] = types[name]
	}
	if doc.Identities, err = s.Identities(ctx, id); err != nil {
		return nil, err
	}
	if doc.Events, err = s.Events(ctx, id, 0); err != nil {
		return nil, err
	}
	if doc.ConsentLedger, err = s.ConsentLedger(ctx, id); err != nil {
		return nil, err
	}
	if doc.ConsentState, err = s.ConsentStates(ctx, id, now); err != nil {
		return nil, err
	}
	if doc.Merges, err = s.Merges(ctx, id); err != nil {
		return nil, err
	}
	if doc.Requests, err = s.Requests(ctx, RequestFilter{All: true, ProfileID: id}); err != nil {
		return nil, err
	}
	for _, ident := range doc.Identities {
		var sup ExportSuppression
		err := w.queryRow(`SELECT kind, reason, created_at FROM suppressions WHERE addr_hash = ?`, s.HashIdentifier(ident.Kind, ident.Value)).Scan(&sup.Kind, &sup.Reason, &sup.CreatedAt)
		if err == nil {
			doc.Suppressions = append(doc.Suppressions, sup)
		} else if err != sql.ErrNoRows {
			return nil, err
		}
	}
	tables, err := s.profileColumnTables(w)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if coreTables[t.name] || !t.hasProfileID {
			continue
		}
		rows, err := s.rowsAbout(w, t.name, id)
		if err != nil {
			return nil, err
		}
		switch exportSection(t.name) {
		case "segment_memberships":
			doc.SegmentMemberships = append(doc.SegmentMemberships, rows...)
		case "journey_history":
			doc.JourneyHistory = append(doc.JourneyHistory, rows...)
		case "messages":
			doc.Messages = append(doc.Messages, rows...)
		default:
			doc.OtherTables[t.name] = rows
		}
	}
	nilToEmpty(&doc.Identities)
	nilToEmpty(&doc.Events)
	nilToEmpty(&doc.ConsentLedger)
	nilToEmpty(&doc.ConsentState)
	nilToEmpty(&doc.Merges)
	return doc, nil
}

func nilToEmpty[T any](p *[]T) {
	if *p == nil {
		*p = []T{}
	}
}

// exportSection says where rows of a table other than the core ones go.
func exportSection(table string) string {
	switch {
	case strings.Contains(table, "outbox") || strings.Contains(table, "message") || strings.Contains(table, "send") || strings.Contains(table, "deliver"):
		return "messages"
	case strings.Contains(table, "membership") || strings.Contains(table, "segment"):
		return "segment_memberships"
	case strings.Contains(table, "journey"):
		return "journey_history"
	}
	return ""
}

// rowsAbout returns a table's rows about one profile as column objects.
func (s *Store) rowsAbout(w *writer, table string, id int64) ([]map[string]any, error) {
	rows, err := w.query(fmt.Sprintf(`SELECT * FROM %s WHERE profile_id = ?`, quoteIdent(table)), id)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			if b, ok := vals[i].([]byte); ok {
				vals[i] = string(b)
			}
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// profileTable is a base table with a column referring to profiles.
type profileTable struct {
	name         string
	hasProfileID bool     // has a column named profile_id
	unknown      []string // other columns whose name mentions a profile
}

// profileColumnTables lists every base table of the database with a column
// that refers to a person: named profile_id, or mentioning "profile". It
// reads information_schema on w's connection; any error is returned, so
// callers fail closed.
func (s *Store) profileColumnTables(w *writer) ([]profileTable, error) {
	rows, err := w.query(`SELECT CASE WHEN c.table_schema = 'main' THEN c.table_name ELSE c.table_schema || '.' || c.table_name END, c.column_name
FROM information_schema.columns c
JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
WHERE t.table_type = 'BASE TABLE' AND c.table_catalog = current_database()
  AND (lower(c.column_name) LIKE '%profile%' OR lower(c.column_name) = 'other_id')
ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("list tables with profile columns: %w", err)
	}
	defer rows.Close()
	byName := map[string]*profileTable{}
	var order []string
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			return nil, err
		}
		t, ok := byName[table]
		if !ok {
			t = &profileTable{name: table}
			byName[table] = t
			order = append(order, table)
		}
		switch {
		case strings.Contains(table, "."):
			// Outside the main schema: erasure and export do not reach
			// it, so report it and let callers fail closed.
			t.unknown = append(t.unknown, col)
		case col == "profile_id":
			t.hasProfileID = true
		case table == "merges" && col == "other_id":
		default:
			t.unknown = append(t.unknown, col)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Strings(order)
	out := make([]profileTable, len(order))
	for i, n := range order {
		out[i] = *byName[n]
	}
	return out, nil
}
