package engine

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// traitColumn is a trait column of one input.
type traitColumn struct {
	col   int // input column
	trait Trait
	isNew bool
}

func (s *Store) importProfiles(ctx context.Context, src source) (ImportResult, error) {
	known, err := s.traitTypes(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	if f, ok := src.(fileSource); ok && strings.EqualFold(filepath.Ext(f.path), ".csv") {
		res, err := s.importProfilesCSV(ctx, f, known)
		var slow *slowPath
		if !errors.As(err, &slow) {
			return res, err
		}
		s.log.Debug("import: row by row", "input", filepath.Base(f.path), "why", slow.why)
	}
	p, err := s.checkProfiles(ctx, src, known)
	if err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Rows: p.rows}
	err = s.write(ctx, func(w *writer) error { return s.writeProfiles(ctx, w, p, s.now(), &res) })
	if err != nil {
		return ImportResult{Rows: p.rows}, err
	}
	return res, nil
}

// checkedProfiles is a profile input that passed the first pass: every
// row valid, each new trait's type inferred over the whole input.
type checkedProfiles struct {
	src  source
	h    *header
	rows int
	cols []traitColumn
}

// checkProfiles is the first pass of a row-by-row profile import: it
// validates every row and infers each new trait's type over the whole
// input. Nothing is written.
func (s *Store) checkProfiles(ctx context.Context, src source, known map[string]TraitType) (checkedProfiles, error) {
	h := newHeader(src.name(), ImportProfiles)
	if f, ok := src.(fileSource); ok {
		// Only a speed-up: without it the passes normalise as they go, and
		// report whatever made it fail. Its error is not logged: a
		// reader's error may quote a value.
		if s.warmPhones(ctx, f, h.memo) != nil {
			s.log.Debug("import: phones not normalised ahead", "input", filepath.Base(f.path))
		}
	}
	inferred := map[int]TraitType{}
	rows, err := forEachRow(ctx, src, h, func(rc *rowCtx) error {
		return s.checkProfileRow(rc, known, inferred)
	})
	if err != nil {
		return checkedProfiles{}, err
	}
	return checkedProfiles{src: src, h: h, rows: rows, cols: traitColumns(h.names, known, inferred)}, nil
}

// writeProfiles is the second pass, in w: the new traits are added, the
// rows converted and bulk-loaded into the stage, and the stage upserted.
func (s *Store) writeProfiles(ctx context.Context, w *writer, p checkedProfiles, now time.Time, res *ImportResult) error {
	traits, err := addTraitsAndStage(w, p.cols, p.src.name(), now, res)
	if err != nil {
		return err
	}
	// Only each row's line is kept in Go: resolution reads the identifiers
	// from the stage.
	lines := make([]int, 0, p.rows)
	h2 := newHeader(p.src.name(), ImportProfiles)
	h2.memo = p.h.memo // the second pass reuses the first pass's normalisations
	pull, done := streamRows(ctx, p.src, h2, func(rc *rowCtx) ([]driver.Value, error) {
		row, err := s.stageProfileRow(rc, p.cols, now, len(lines))
		lines = append(lines, rc.line)
		return row, err
	})
	_, appendErr := w.appendRows("_stage", func() ([]driver.Value, error) {
		row, _ := pull()
		return row, nil
	})
	if err := done(); err != nil {
		return err
	}
	if appendErr != nil {
		return appendErr
	}
	return s.upsertStaged(w, "_stage", traits, len(lines), func(row int) int { return lines[row] }, p.src.name(), res)
}

// traitColumns lists the input's trait columns with their types: the
// catalog's for known traits, the inferred one (keyed by input column) for
// new ones; a column never present adds no trait.
func traitColumns(names []string, known map[string]TraitType, inferred map[int]TraitType) []traitColumn {
	var cols []traitColumn
	for i, name := range names {
		if kindIndex(name) >= 0 || name == "updated_at" || name == "timezone" {
			continue
		}
		if t, ok := known[name]; ok {
			cols = append(cols, traitColumn{col: i, trait: Trait{name, t}})
			continue
		}
		t := inferred[i]
		switch t {
		case typeUnknown:
			continue // never present: no trait to add
		case typeUnknownList:
			t = TypeStringList
		}
		cols = append(cols, traitColumn{col: i, trait: Trait{name, t}, isNew: true})
	}
	return cols
}

// addTraitsAndStage adds the new traits to the catalog and the profiles
// table, and creates the _stage table (stageColumns, then the traits).
func addTraitsAndStage(w *writer, cols []traitColumn, label string, now time.Time, res *ImportResult) ([]Trait, error) {
	for _, c := range cols {
		if !c.isNew {
			continue
		}
		if _, err := w.exec(`INSERT INTO traits VALUES (?, ?, ?, ?)`, c.trait.Name, string(c.trait.Type), label, now); err != nil {
			return nil, err
		}
		if _, err := w.exec(fmt.Sprintf(`ALTER TABLE profiles ADD COLUMN %s %s`, quoteIdent(c.trait.Name), c.trait.Type)); err != nil {
			return nil, fmt.Errorf("add trait %s: %w", c.trait.Name, err)
		}
		res.TraitsAdded = append(res.TraitsAdded, c.trait)
	}
	stageCols := stageColumns()
	traits := make([]Trait, len(cols))
	for i, c := range cols {
		stageCols = append(stageCols, quoteIdent(c.trait.Name)+" "+string(c.trait.Type))
		traits[i] = c.trait
	}
	return traits, w.temp("_stage", strings.Join(stageCols, ", "))
}

// region is the country for phones of this row: its country column when
// that holds an ISO code, else the configured default.
func (s *Store) region(rc *rowCtx) string {
	if i, ok := rc.h.seen["country"]; ok {
		if c := cellAt(rc.cells, i); c.present {
			if v, ok := cellString(c); ok {
				return s.regionOf(v)
			}
		}
	}
	return s.cfg.DefaultRegion
}

// regionOf is the phone region for a present country value.
func (s *Store) regionOf(country string) string {
	if v := strings.TrimSpace(country); len(v) == 2 {
		return strings.ToUpper(v)
	}
	return s.cfg.DefaultRegion
}

func (s *Store) checkProfileRow(rc *rowCtx, known map[string]TraitType, inferred map[int]TraitType) error {
	if _, err := rc.identities(s.region(rc)); err != nil {
		return err
	}
	if _, _, err := profileSpecials(rc, s.CheckEventTime); err != nil {
		return err
	}
	for i, name := range rc.h.names {
		if kindIndex(name) >= 0 || name == "updated_at" || name == "timezone" {
			continue
		}
		c := cellAt(rc.cells, i)
		if !c.present {
			continue
		}
		got := classify(c)
		if want, ok := known[name]; ok {
			if !fits(got, want) {
				return rc.errAt(i, fmt.Sprintf("%s does not fit trait %q, which holds %s", describeCell(c), name, describeType(want)))
			}
			continue
		}
		inferred[i] = widen(inferred[i], got)
	}
	return nil
}

func describeCell(c cell) string {
	if s, ok := cellString(c); ok {
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return fmt.Sprintf("value %q", s)
	}
	return "a list or object"
}

// profileSpecials reads updated_at and timezone.
func profileSpecials(rc *rowCtx, checkTime func(time.Time) error) (time.Time, string, error) {
	var upd time.Time
	var tz string
	if i, ok := rc.h.roles["updated_at"]; ok {
		if c := cellAt(rc.cells, i); c.present {
			t, err := cellTime(c)
			if err == nil {
				err = checkTime(t)
			}
			if err != nil {
				return upd, tz, rc.errAt(i, err.Error())
			}
			upd = t
		}
	}
	if i, ok := rc.h.roles["timezone"]; ok {
		if c := cellAt(rc.cells, i); c.present {
			v, _ := cellString(c)
			v = strings.TrimSpace(v)
			if !rc.h.memo.validZone(v) {
				return upd, tz, rc.errAt(i, fmt.Sprintf("%q is not an IANA time zone", v))
			}
			tz = v
		}
	}
	return upd, tz, nil
}

// stageColumns are the leading columns of a profile stage: the row index,
// its recency, one column per identity kind (in IdentityKinds order) and
// the time zone.
func stageColumns() []string {
	cols := []string{"_row BIGINT", "_ord TIMESTAMP"}
	for _, k := range IdentityKinds() {
		cols = append(cols, k+" VARCHAR")
	}
	return append(cols, "timezone VARCHAR")
}

func (s *Store) stageProfileRow(rc *rowCtx, cols []traitColumn, now time.Time, rowNo int) ([]driver.Value, error) {
	ids, err := rc.identities(s.region(rc))
	if err != nil {
		return nil, err
	}
	upd, tz, err := profileSpecials(rc, s.CheckEventTime)
	if err != nil {
		return nil, err
	}
	if upd.IsZero() {
		upd = now
	}
	row := make([]driver.Value, 0, 8+len(cols))
	row = append(row, int64(rowNo), upd)
	for _, v := range ids {
		row = append(row, nullable(v))
	}
	row = append(row, nullable(tz))
	for _, c := range cols {
		cl := cellAt(rc.cells, c.col)
		if !cl.present {
			row = append(row, nil)
			continue
		}
		v, err := convert(cl, c.trait.Type)
		if err != nil {
			return nil, rc.errAt(c.col, fmt.Sprintf("%s is not %s", describeCell(cl), describeType(c.trait.Type)))
		}
		row = append(row, v)
	}
	return row, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
