package engine

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tactcdp/tact/internal/dbtx"
)

// importProfilesCSV is the set-based import of a profile CSV file (see
// import_csv_profiles.go). It returns a *slowPath error, with the database
// unchanged, when the row-by-row path must take the file.
func (s *Store) importProfilesCSV(ctx context.Context, f fileSource, known map[string]TraitType) (ImportResult, error) {
	path := f.path
	shape, err := readCSVShape(path, ImportProfiles, f.opts)
	if err != nil {
		return ImportResult{}, err
	}
	h := shape.header
	now := s.now()
	var res ImportResult
	err = s.write(ctx, func(w *writer) error {
		n, row, err := s.loadRawCSV(w, path, shape)
		if err != nil {
			return err
		}
		res.Rows = n
		st := &csvStage{w: w, h: h, sel: []string{row, "?::TIMESTAMP"}}
		ids, err := s.identityValues(st)
		if err != nil {
			return err
		}
		st.sel = append(st.sel, ids...)
		if err := s.stageSpecials(st); err != nil {
			return err
		}
		cols, err := stageTraitValues(st, known)
		if err != nil {
			return err
		}
		traits, err := addTraitsAndStage(w, cols, path, now, &res)
		if err != nil {
			return err
		}
		q := fmt.Sprintf(`INSERT INTO _stage SELECT %s FROM _raw r %s`, strings.Join(st.sel, ", "), strings.Join(st.joins, " "))
		if _, err := w.exec(q, now); err != nil {
			return fmt.Errorf("stage profiles: %w", err)
		}
		if err := st.drop(); err != nil {
			return err
		}
		// Row i is line i+2 of the file: loadRawCSV checked that rows and
		// lines line up.
		return s.upsertStaged(w, "_stage", traits, n, func(row int) int { return row + 2 }, path, &res)
	})
	return res, err
}

// csvStage builds the INSERT … SELECT that stages _raw: the selected
// expressions in _stage's column order and the joins to value maps.
type csvStage struct {
	w      *writer
	h      *header
	sel    []string
	joins  []string
	tables []string // the value maps joined
}

// drop drops _raw and the value maps once the stage is built: resolution
// and the profile fold need the memory more.
func (st *csvStage) drop() error {
	for _, t := range append([]string{"_raw"}, st.tables...) {
		if _, err := st.w.exec("DROP TABLE " + t); err != nil {
			return err
		}
	}
	return nil
}

// valueMap creates a map table from raw text to a value of type typ,
// filled with rows, and joins it on the raw column.
func (st *csvStage) valueMap(name, typ string, col int, rows [][]driver.Value) error {
	if err := st.w.temp(name, "raw VARCHAR, v "+typ); err != nil {
		return err
	}
	if err := st.w.appendSlice(name, rows); err != nil {
		return err
	}
	st.joins = append(st.joins, fmt.Sprintf("LEFT JOIN %[1]s ON %[1]s.raw = r.%[2]s", name, rawColumn(col)))
	st.tables = append(st.tables, name)
	return nil
}

// identityValues normalises each identity column over its distinct values
// (phones over distinct number and country pairs) and returns, per identity
// kind, the expression of the normalised value ("NULL" when absent).
func (s *Store) identityValues(st *csvStage) ([]string, error) {
	h := st.h
	var noID []string
	for _, col := range h.idCols {
		if col >= 0 {
			noID = append(noID, rawColumn(col)+" IS NULL")
		}
	}
	var missing bool
	if err := st.w.queryRow(`SELECT count(*) > 0 FROM _raw WHERE ` + strings.Join(noID, " AND ")).Scan(&missing); err != nil {
		return nil, err
	}
	if missing {
		return nil, giveWay("a row has no identity")
	}
	country, hasCountry := h.seen["country"]
	var exprs []string
	for k, kind := range IdentityKinds() {
		col := h.idCols[k]
		if col < 0 {
			exprs = append(exprs, "NULL::VARCHAR")
			continue
		}
		table := "_id_" + kind
		if kind == KindPhone && hasCountry {
			if err := s.stagePhones(st, col, country, table); err != nil {
				return nil, err
			}
			exprs = append(exprs, table+".v")
			continue
		}
		vals, err := distinctText(st.w, fmt.Sprintf(`SELECT DISTINCT %[1]s FROM _raw WHERE %[1]s IS NOT NULL`, rawColumn(col)))
		if err != nil {
			return nil, err
		}
		regions := make([]string, len(vals))
		for i := range regions {
			regions[i] = s.cfg.DefaultRegion
		}
		norm, err := normaliseAll(kind, vals, regions)
		if err != nil {
			return nil, err
		}
		// Most identifiers are already normal: only those normalisation
		// changes go into the map, the others are selected as they are.
		var rows [][]driver.Value
		for i, v := range vals {
			if norm[i] != v {
				rows = append(rows, []driver.Value{v, norm[i]})
			}
		}
		if err := st.valueMap(table, "VARCHAR", col, rows); err != nil {
			return nil, err
		}
		exprs = append(exprs, fmt.Sprintf("coalesce(%s.v, r.%s)", table, rawColumn(col)))
	}
	return exprs, nil
}

// stagePhones normalises the distinct (phone, country) pairs: a row's
// country decides the region of a number without a country code.
func (s *Store) stagePhones(st *csvStage, col, country int, table string) error {
	pc, cc := rawColumn(col), rawColumn(country)
	vals, countries, err := distinctPairs(st.w, fmt.Sprintf(`SELECT DISTINCT %s, coalesce(%s, '') FROM _raw WHERE %s IS NOT NULL`, pc, cc, pc))
	if err != nil {
		return err
	}
	regions := make([]string, len(vals))
	for i, c := range countries {
		regions[i] = s.cfg.DefaultRegion
		if c != "" {
			regions[i] = s.regionOf(c)
		}
	}
	norm, err := normaliseAll(KindPhone, vals, regions)
	if err != nil {
		return err
	}
	if err := st.w.temp(table, "raw VARCHAR, country VARCHAR, v VARCHAR"); err != nil {
		return err
	}
	out := make([][]driver.Value, len(vals))
	for i := range vals {
		out[i] = []driver.Value{vals[i], countries[i], norm[i]}
	}
	if err := st.w.appendSlice(table, out); err != nil {
		return err
	}
	st.joins = append(st.joins, fmt.Sprintf("LEFT JOIN %[1]s ON %[1]s.raw = r.%[2]s AND %[1]s.country = coalesce(r.%[3]s, '')", table, pc, cc))
	st.tables = append(st.tables, table)
	return nil
}

// distinctPairs returns the rows of a query of two text columns, read as
// Arrow batches.
func distinctPairs(w *writer, q string) ([]string, []string, error) {
	var as, bs []string
	err := dbtx.QueryArrow(w.ctx, w.conn, q, nil, func(rdr array.RecordReader) error {
		for rdr.Next() {
			rec := rdr.Record()
			a, okA := rec.Column(0).(*array.String)
			b, okB := rec.Column(1).(*array.String)
			if !okA || !okB {
				return fmt.Errorf("distinct pairs: columns of type %s", rec.Schema())
			}
			for i := range a.Len() {
				// The batch is released after the read: keep copies.
				as, bs = append(as, strings.Clone(a.Value(i))), append(bs, strings.Clone(b.Value(i)))
			}
		}
		return nil
	})
	return as, bs, err
}

// normaliseAll normalises distinct identifiers on every core; the phone
// library is the costliest rule of an import.
func normaliseAll(kind string, vals, regions []string) ([]string, error) {
	out := make([]string, len(vals))
	if !onEveryCore(len(vals), func(i int) bool {
		v, err := normaliseIdentifier(kind, vals[i], regions[i])
		out[i] = v
		return err == nil
	}) {
		return nil, giveWay("%s: a value is refused", kind)
	}
	return out, nil
}

// stageSpecials maps updated_at to times and timezone to checked zones.
func (s *Store) stageSpecials(st *csvStage) error {
	h := st.h
	if col, ok := h.roles["updated_at"]; ok {
		vals, err := distinctText(st.w, fmt.Sprintf(`SELECT DISTINCT %[1]s FROM _raw WHERE %[1]s IS NOT NULL`, rawColumn(col)))
		if err != nil {
			return err
		}
		rows := make([][]driver.Value, len(vals))
		for i, v := range vals {
			t, err := cellTime(textCell(v))
			if err == nil {
				err = s.CheckEventTime(t)
			}
			if err != nil {
				return giveWay("updated_at: a value is refused")
			}
			rows[i] = []driver.Value{v, t}
		}
		if err := st.valueMap("_upd", "TIMESTAMP", col, rows); err != nil {
			return err
		}
		st.sel[1] = "coalesce(_upd.v, ?::TIMESTAMP)" // a row without updated_at is as recent as the import
	}
	col, ok := h.roles["timezone"]
	if !ok {
		st.sel = append(st.sel, "NULL")
		return nil
	}
	vals, err := distinctText(st.w, fmt.Sprintf(`SELECT DISTINCT %[1]s FROM _raw WHERE %[1]s IS NOT NULL`, rawColumn(col)))
	if err != nil {
		return err
	}
	rows := make([][]driver.Value, len(vals))
	for i, v := range vals {
		zone := strings.TrimSpace(v)
		if !h.memo.validZone(zone) {
			return giveWay("timezone: a value is refused")
		}
		rows[i] = []driver.Value{v, zone}
	}
	if err := st.valueMap("_tz", "VARCHAR", col, rows); err != nil {
		return err
	}
	st.sel = append(st.sel, "_tz.v")
	return nil
}

// stageTraitValues types each trait column over its distinct values with
// the row-by-row rules (classify, widen, fits, convert) and selects the
// converted values.
func stageTraitValues(st *csvStage, known map[string]TraitType) ([]traitColumn, error) {
	h := st.h
	inferred := map[int]TraitType{}
	values := map[int][]string{}
	for i, name := range h.names {
		if kindIndex(name) >= 0 || name == "updated_at" || name == "timezone" {
			continue
		}
		vals, err := distinctText(st.w, fmt.Sprintf(`SELECT DISTINCT %[1]s FROM _raw WHERE %[1]s IS NOT NULL`, rawColumn(i)))
		if err != nil {
			return nil, err
		}
		want, isKnown := known[name]
		for _, v := range vals {
			got := classifyText(v)
			if isKnown && !fits(got, want) {
				return nil, giveWay("trait %s: a value does not fit", name)
			}
			inferred[i] = widen(inferred[i], got)
		}
		values[i] = vals
	}
	cols := traitColumns(h.names, known, inferred)
	for _, c := range cols {
		if c.trait.Type == TypeString {
			st.sel = append(st.sel, "r."+rawColumn(c.col))
			continue
		}
		vals := values[c.col]
		rows := make([][]driver.Value, len(vals))
		for i, v := range vals {
			conv, err := convert(textCell(v), c.trait.Type)
			if err != nil {
				return nil, giveWay("trait %s: a value does not convert", c.trait.Name)
			}
			rows[i] = []driver.Value{v, conv}
		}
		table := fmt.Sprintf("_t%d", c.col)
		if err := st.valueMap(table, string(c.trait.Type), c.col, rows); err != nil {
			return nil, err
		}
		st.sel = append(st.sel, table+".v")
	}
	return cols, nil
}

func textCell(v string) cell { return cell{present: true, text: v, kind: cellText} }
