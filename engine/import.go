package engine

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// ImportKind says what an input holds.
type ImportKind string

// Import kinds.
const (
	ImportProfiles ImportKind = "profiles"
	ImportEvents   ImportKind = "events"
	ImportConsents ImportKind = "consents"
)

// ImportResult counts what one input changed.
type ImportResult struct {
	File            string     `json:"file"`
	Kind            ImportKind `json:"kind"`
	Rows            int        `json:"rows"`
	ProfilesCreated int        `json:"profiles_created"`
	ProfilesUpdated int        `json:"profiles_updated"`
	ProfilesMerged  int        `json:"profiles_merged"`
	LinksRefused    int        `json:"links_refused"`
	IdentitiesAdded int        `json:"identities_added"`
	TraitsAdded     []Trait    `json:"traits_added,omitempty"`
	EventsAdded     int        `json:"events_added,omitempty"`
	EventsDuplicate int        `json:"events_duplicate,omitempty"`
	// EventsDropped counts behavioural events not stored, by reason
	// (restricted, objected, analytics_withdrawn): tracking stops when the
	// person's permission does.
	EventsDropped     map[string]int `json:"events_dropped,omitempty"`
	ConsentsAdded     int            `json:"consents_added,omitempty"`
	ConsentsDuplicate int            `json:"consents_duplicate,omitempty"`
	Duration          time.Duration  `json:"duration_ns"`
}

// Import loads one file (.csv, .jsonl or .parquet) of the given kind. The
// file is all-or-nothing: on any error the database is unchanged and the
// error is an *ImportError naming the line and field. Importing the same
// file again changes nothing.
func (s *Store) Import(ctx context.Context, kind ImportKind, path string, opts ...ImportOption) (ImportResult, error) {
	var o importOptions
	for _, opt := range opts {
		opt(&o)
	}
	return s.importSource(ctx, kind, fileSource{path: path, db: s.db, opts: o})
}

// ImportRows loads rows built in memory (the HTTP API), with the same rules
// as Import. label names the input in errors and in the merge log.
func (s *Store) ImportRows(ctx context.Context, kind ImportKind, label string, rows []map[string]any) (ImportResult, error) {
	return s.importSource(ctx, kind, memSource{label: label, rows: rows})
}

func (s *Store) importSource(ctx context.Context, kind ImportKind, src source) (ImportResult, error) {
	start := s.clock.Now()
	var res ImportResult
	var err error
	switch kind {
	case ImportProfiles:
		res, err = s.importProfiles(ctx, src)
	case ImportEvents:
		res, err = s.importEvents(ctx, src)
	case ImportConsents:
		res, err = s.importConsents(ctx, src)
	default:
		return ImportResult{}, fmt.Errorf("unknown import kind %q (want profiles, events or consents)", kind)
	}
	res.File, res.Kind = src.name(), kind
	res.Duration = s.clock.Now().Sub(start)
	if err != nil {
		s.log.Info("import rejected", "kind", kind, "input", filepath.Base(src.name()))
		return res, err
	}
	s.log.Info("import done", "kind", kind, "input", filepath.Base(src.name()), "rows", res.Rows,
		"profiles_created", res.ProfilesCreated, "merged", res.ProfilesMerged, "events", res.EventsAdded, "consents", res.ConsentsAdded)
	return res, nil
}

// header maps an input's columns to their roles. It grows with JSONL keys.
type header struct {
	file   string
	kind   ImportKind
	names  []string // normalised names, by input column
	seen   map[string]int
	idCols [numKinds]int // input column of each identity kind, -1 if absent
	roles  map[string]int
	memo   *normMemo
}

// normMemo remembers normalised phones and valid time zones for one import:
// both are costly to compute (libphonenumber's patterns; time.LoadLocation
// reads the zone database on every call) and repeat across rows and passes.
type normMemo struct {
	phones map[[2]string]phoneResult
	zones  map[string]bool
}

type phoneResult struct {
	e164 string
	err  error
}

func newNormMemo() *normMemo {
	return &normMemo{phones: map[[2]string]phoneResult{}, zones: map[string]bool{}}
}

func (m *normMemo) identifier(kind, raw, region string) (string, error) {
	if kind != KindPhone {
		return normaliseIdentifier(kind, raw, region)
	}
	key := [2]string{raw, region}
	if r, ok := m.phones[key]; ok {
		return r.e164, r.err
	}
	v, err := normaliseIdentifier(kind, raw, region)
	m.phones[key] = phoneResult{v, err}
	return v, err
}

func (m *normMemo) validZone(name string) bool {
	ok, seen := m.zones[name]
	if !seen {
		_, err := time.LoadLocation(name)
		ok = err == nil && name != "" && !strings.EqualFold(name, "local")
		m.zones[name] = ok
	}
	return ok
}

func newHeader(file string, kind ImportKind) *header {
	h := &header{file: file, kind: kind, seen: map[string]int{}, roles: map[string]int{}, memo: newNormMemo()}
	for i := range h.idCols {
		h.idCols[i] = -1
	}
	return h
}

// fixed columns of events and consents files, besides identities.
var fixedColumns = map[ImportKind][]string{ //nolint:gochecknoglobals // read-only after initialisation
	ImportEvents:   {"event", "timestamp", "properties", "context", "message_id"},
	ImportConsents: {"purpose", "channel", "status", "timestamp", "version", "source", "expires_at", "actor"},
}

// update takes in columns added to the reader's header since last call.
func (h *header) update(cols []string, pos func(int) (int, int)) error {
	for i := len(h.names); i < len(cols); i++ {
		raw := cols[i]
		name := normaliseColumnName(raw)
		line, col := pos(i)
		if line == 0 {
			line = 1
		}
		bad := func(msg string) error {
			return &ImportError{File: h.file, Line: line, Column: col, Field: raw, Msg: msg}
		}
		if name == "" {
			return bad("empty column name")
		}
		if j, dup := h.seen[name]; dup {
			return bad(fmt.Sprintf("column repeats %q (column %d)", cols[j], j+1))
		}
		h.seen[name] = i
		h.names = append(h.names, name)
		if k := kindIndex(name); k >= 0 {
			h.idCols[k] = i
			continue
		}
		if h.kind == ImportProfiles {
			if name == "updated_at" || name == "timezone" {
				h.roles[name] = i
				continue
			}
			if err := checkTraitName(name); err != nil {
				return bad(err.Error())
			}
			continue
		}
		known := false
		for _, f := range fixedColumns[h.kind] {
			if f == name {
				known = true
			}
		}
		if !known {
			return bad(fmt.Sprintf("unknown column for %s (want identity columns and %s)", h.kind, strings.Join(fixedColumns[h.kind], ", ")))
		}
		h.roles[name] = i
	}
	return nil
}

func (h *header) hasIdentity() bool {
	for _, c := range h.idCols {
		if c >= 0 {
			return true
		}
	}
	return false
}

// identityList names the identity kinds for messages: "a, b or c".
func identityList() string { return orList(IdentityKinds()) }

// orList joins names for a message: "a, b or c".
func orList(k []string) string {
	return strings.Join(k[:len(k)-1], ", ") + " or " + k[len(k)-1]
}

func kindIndex(name string) int {
	for i, k := range IdentityKinds() {
		if k == name {
			return i
		}
	}
	return -1
}

// cellAt returns the cell of input column i, absent when out of range.
func cellAt(cells []cell, i int) cell {
	if i < 0 || i >= len(cells) {
		return cell{}
	}
	return cells[i]
}

// rowCtx is one row being read, for error reporting.
type rowCtx struct {
	h     *header
	r     rowReader
	line  int
	cells []cell
}

func (rc *rowCtx) errAt(col int, msg string) error {
	line, c := rc.r.pos(col)
	if line == 0 {
		line = rc.line
	}
	return &ImportError{File: rc.h.file, Line: line, Column: c, Field: rc.h.names[col], Msg: msg}
}

func (rc *rowCtx) errRow(msg string) error {
	return &ImportError{File: rc.h.file, Line: rc.line, Msg: msg}
}

// identities reads and normalises the row's identifiers. region is the
// country used for phones without a country code.
func (rc *rowCtx) identities(region string) ([numKinds]string, error) {
	var ids [numKinds]string
	any := false
	for k, col := range rc.h.idCols {
		c := cellAt(rc.cells, col)
		if !c.present {
			continue
		}
		raw, ok := cellString(c)
		if !ok {
			return ids, rc.errAt(col, "want a string identifier")
		}
		v, err := rc.h.memo.identifier(IdentityKinds()[k], raw, region)
		if err != nil {
			return ids, rc.errAt(col, err.Error())
		}
		ids[k] = v
		any = true
	}
	if !any {
		return ids, rc.errRow("row has no identity (" + identityList() + ")")
	}
	return ids, nil
}

// forEachRow reads src, keeping the header current, and calls fn per row.
func forEachRow(ctx context.Context, src source, h *header, fn func(rc *rowCtx) error) (int, error) {
	r, err := src.open(ctx)
	if err != nil {
		var ie *ImportError
		if errors.As(err, &ie) {
			return 0, err
		}
		return 0, &ImportError{File: src.name(), Msg: err.Error()}
	}
	defer func() { _ = r.close() }()
	if err := h.update(r.header(), r.pos); err != nil {
		return 0, err
	}
	n := 0
	for {
		if n%4096 == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
		line, cells, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, &ImportError{File: src.name(), Line: line, Msg: err.Error()}
		}
		if err := h.update(r.header(), r.pos); err != nil {
			return n, err
		}
		if !h.hasIdentity() {
			return n, &ImportError{File: src.name(), Line: 1, Msg: "no identity column (need " + identityList() + ")"}
		}
		n++
		rc := &rowCtx{h: h, r: r, line: line, cells: cells}
		if err := rc.checkRowText(); err != nil {
			return n, err
		}
		if err := fn(rc); err != nil {
			return n, err
		}
	}
	if n == 0 && !h.hasIdentity() {
		return 0, &ImportError{File: src.name(), Line: 1, Msg: "no identity column (need " + identityList() + ")"}
	}
	return n, nil
}

// idTuples collects the distinct identifier sets of an HTTP batch of
// events, in order of first appearance (a file's are collected in DuckDB:
// see import_id_sets.go). The index is keyed by each set's
// compact encoding (tupleKey), not by the set itself: a million distinct
// sets held 96 bytes of string headers each in the map besides the records.
type idTuples struct {
	index   map[string]struct{}
	records []idRecord
	key     []byte // reused: looking a set up allocates nothing
}

// done ends the collection and hands the sets over: t keeps neither them
// nor the index (which only serves rows still to come), so that each is
// garbage as soon as its last user is done with it (see releaseGoMemory).
func (t *idTuples) done() []idRecord {
	records := t.records
	t.index, t.records, t.key = nil, nil, nil
	return records
}

func (t *idTuples) add(ids [numKinds]string, line int) {
	if t.index == nil {
		t.index = map[string]struct{}{}
	}
	t.key = tupleKey(t.key[:0], ids)
	if _, ok := t.index[string(t.key)]; ok {
		return
	}
	t.index[string(t.key)] = struct{}{}
	t.records = append(t.records, idRecord{ids: ids, line: line})
}

// tupleKey appends an encoding of ids to dst that differs for different
// sets whatever bytes the identifiers hold: each identifier's length, then
// its bytes.
func tupleKey(dst []byte, ids [numKinds]string) []byte {
	for _, v := range ids {
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// primary is the identifier an event or consent row is attached by: the
// first present in resolution order, which resolution never refuses.
func primary(ids [numKinds]string) (string, string) {
	for k, v := range ids {
		if v != "" {
			return IdentityKinds()[k], v
		}
	}
	return "", ""
}

func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func nullable(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) driver.Value {
	if t.IsZero() {
		return nil
	}
	return t
}
