package benchmark

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tactcdp/tact/engine/sample"
)

// importCase is one file of the import leg.
type importCase struct {
	file string // sample file name
	kind string
}

func importCases() []importCase {
	return []importCase{
		{sample.FileCRMProfiles, sample.KindProfiles},
		{sample.FileStorePurchases, sample.KindEvents},
		{sample.FileWebEvents, sample.KindEvents},
		{sample.FileConsents, sample.KindConsents},
	}
}

// parquetProfiles is the profiles file converted to Parquet.
const parquetProfiles = "crm_profiles.parquet"

// importLeg times Store.Import of each sample file (and the profiles as
// Parquet) into a fresh database against DuckDB reading the same file into
// a table.
func (r *runner) importLeg(ctx context.Context) (Leg, error) {
	leg := Leg{Leg: LegImport}
	m, dir, err := r.sample()
	if err != nil {
		return leg, err
	}
	type input struct {
		name, kind, path string
		rows             int64
	}
	var inputs []input
	for _, c := range importCases() {
		f, err := fileOf(m, c.file)
		if err != nil {
			return leg, err
		}
		inputs = append(inputs, input{c.file, c.kind, filepath.Join(dir, c.file), int64(f.Rows)})
	}
	r.p.step("import: converting %s to Parquet", sample.FileCRMProfiles)
	pq := filepath.Join(dir, parquetProfiles)
	if _, err := r.l.run(ctx, task{Name: taskToParquet, File: inputs[0].path, Out: pq}); err != nil {
		return leg, err
	}
	inputs = append(inputs, input{parquetProfiles, sample.KindProfiles, pq, inputs[0].rows})
	for _, in := range inputs {
		name := fmt.Sprintf("%s (%s, %d rows)", in.name, in.kind, in.rows)
		stop := r.p.watch(label("import", name, "tact"), "", nil, nil)
		db := r.scratch("import", "tact.duckdb")
		tact, err := r.l.runOne(ctx, task{Name: taskImportTact, Kind: in.kind, File: in.path, DB: db, Rows: in.rows})
		stop()
		removeDB(db)
		if err != nil {
			return leg, err
		}
		stop = r.p.watch(label("import", name, "reference"), "", nil, nil)
		db = r.scratch("import", "reference.duckdb")
		ref, err := r.l.runOne(ctx, task{Name: taskImportRef, File: in.path, DB: db, Rows: in.rows,
			MemoryLimit: tact.MemoryLimit, Threads: tact.Threads})
		stop()
		removeDB(db)
		if err != nil {
			return leg, err
		}
		leg.Cases = append(leg.Cases, newCase(in.name, tact, ref))
	}
	_ = os.Remove(pq)
	return leg, nil
}
