package segments

import (
	_ "embed"

	"github.com/tactcdp/tact/internal/sqlblock"
)

//go:embed export.sql
var exportSQL string

// exportQueries are the named blocks of export.sql, parsed once: the file
// is part of the binary, so a parse error fails every test at once.
var exportQueries = func() map[string]string { //nolint:gochecknoglobals // read-only after initialisation
	b, err := sqlblock.Parse(exportSQL)
	if err != nil {
		panic("segments: " + err.Error())
	}
	return b
}()

// exportQuery returns the named SQL block of export.sql.
func exportQuery(name string) string {
	s, ok := exportQueries[name]
	if !ok {
		panic("segments: no sql block named " + name) // caught by every test
	}
	return s
}
