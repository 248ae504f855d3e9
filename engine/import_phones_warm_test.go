package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/internal/dbtx"
)

// phoneRows are profiles whose phones take every branch of the phone
// rule: already international, local with a country, a country with
// spaces and lower case, a country that is no ISO code (the default
// region), a phone given twice, a number and no phone at all.
var phoneRows = []struct{ userID, phone, country string }{
	{"u1", "+66 81 234 5678", ""},
	{"u2", "081-234-5679", "TH"},
	{"u3", "0812345680", " th "},
	{"u4", "0812345681", "Thailand"},
	{"u5", "+1 (415) 555-0100", "TH"},
	{"u6", "0812345679", "TH"},
	{"u7", "", "TH"},
}

// writePhoneFiles writes phoneRows (and extra) as Parquet and as JSON
// Lines; an empty field is absent.
func writePhoneFiles(t *testing.T, s *engine.Store, extra string) (parquet, jsonl string) {
	t.Helper()
	dir := t.TempDir()
	jsonl = filepath.Join(dir, "p.jsonl")
	var values, lines string
	field := func(v string) string {
		if v == "" {
			return "NULL"
		}
		return "'" + v + "'"
	}
	for i, r := range phoneRows {
		if i > 0 {
			values += ", "
		}
		values += fmt.Sprintf("(%s, %s, %s)", field(r.userID), field(r.phone), field(r.country))
		line := fmt.Sprintf(`{"user_id":%q`, r.userID)
		if r.phone != "" {
			line += fmt.Sprintf(`,"phone":%q`, r.phone)
		}
		if r.country != "" {
			line += fmt.Sprintf(`,"country":%q`, r.country)
		}
		lines += line + "}\n"
	}
	if extra != "" {
		values += ", " + extra
		lines += `{"user_id":"bad","phone":"12","country":"TH"}` + "\n"
	}
	require.NoError(t, os.WriteFile(jsonl, []byte(lines), 0o600))
	parquet = filepath.Join(dir, "p.parquet")
	_, err := s.DB().Exec(fmt.Sprintf(`COPY (SELECT * FROM (VALUES %s) t(user_id, phone, country)) TO '%s' (FORMAT parquet)`, values, parquet))
	require.NoError(t, err)
	return parquet, jsonl
}

// TestParquetPhonesNormalisedAheadAsRowsDo: a Parquet file's phones are
// normalised on every core before the row passes (warmPhones); the
// profiles and identities are those the same rows make as JSON Lines,
// whose phones are normalised row by row, and a refused phone is the same
// error on the same row.
func TestParquetPhonesNormalisedAheadAsRowsDo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	viaParquet, _, _ := openStore(t)
	viaJSONL, _, _ := openStore(t)
	parquet, jsonl := writePhoneFiles(t, viaParquet, "")
	mustImport(t, viaParquet, engine.ImportProfiles, parquet)
	mustImport(t, viaJSONL, engine.ImportProfiles, jsonl)
	identities := func(s *engine.Store) []string {
		out, err := dbtx.QueryColumn[string](ctx, s.DB(), `SELECT u.value || ' ' || i.kind || ' ' || i.value FROM identities i
			JOIN identities u ON u.profile_id = i.profile_id AND u.kind = 'user_id' ORDER BY 1`)
		require.NoError(t, err)
		return out
	}
	got := identities(viaParquet)
	require.Equal(t, identities(viaJSONL), got)
	require.Contains(t, got, "u3 phone +66812345680", "a country with spaces and lower case")

	bad, _, _ := openStore(t)
	parquet, jsonl = writePhoneFiles(t, bad, "('bad', '12', 'TH')")
	_, errParquet := bad.Import(ctx, engine.ImportProfiles, parquet)
	_, errJSONL := bad.Import(ctx, engine.ImportProfiles, jsonl)
	var pe, je *engine.ImportError
	require.ErrorAs(t, errParquet, &pe)
	require.ErrorAs(t, errJSONL, &je)
	require.Equal(t, je.Line, pe.Line)
	require.Equal(t, je.Msg, pe.Msg)
}
