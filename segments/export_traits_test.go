package segments_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/segments"
)

// traitStore holds two Thai members with typed traits, a restricted Thai
// profile (never a member) and a US profile (outside the segment).
func traitStore(t *testing.T) *engine.Store {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, clock.Fixed(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)))
	_, err := st.ImportRows(ctx, engine.ImportProfiles, "p", []map[string]any{
		{"user_id": "a", "email": "a@example.com", "country": "TH", "plan": "pro", "age": 41, "score": 1.5, "vip": true,
			"seen_at": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "tags": []any{"x", "y"}},
		{"user_id": "b", "phone": "+66811111111", "country": "TH", "plan": "free"},
		{"user_id": "r", "country": "TH", "plan": "secret"},
		{"user_id": "c", "country": "US", "plan": "pro"},
	})
	require.NoError(t, err)
	_, err = st.DB().ExecContext(ctx, `UPDATE profiles SET restricted = TRUE WHERE user_id = 'r'`)
	require.NoError(t, err)
	return st
}

// TestMemberExportWithTraits: trait columns follow the fixed columns, typed
// as stored, in every format, on the SQL and the VM path alike.
func TestMemberExportWithTraits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := traitStore(t)
	sc, err := segments.SchemaFromStore(ctx, st)
	require.NoError(t, err)
	traits, err := segments.MemberTraits(ctx, st, []string{"plan", "age", "score", "vip", "seen_at", "tags"}, false)
	require.NoError(t, err)

	wantText := map[string]string{
		"csv": "profile_id,user_id,email,phone,timezone,plan,age,score,vip,seen_at,tags\n" +
			"1,a,a@example.com,,,pro,41,1.5,true,2026-01-02T03:04:05Z,\"[\"\"x\"\",\"\"y\"\"]\"\n" +
			"2,b,,+66811111111,,free,,,,,\n",
		"jsonl": `{"profile_id":1,"user_id":"a","email":"a@example.com","plan":"pro","age":41,"score":1.5,"vip":true,"seen_at":"2026-01-02T03:04:05Z","tags":["x","y"]}` + "\n" +
			`{"profile_id":2,"user_id":"b","phone":"+66811111111","plan":"free"}` + "\n",
	}
	for _, src := range []string{`country == "TH"`, `country == "TH" and string(1) == "1"`} {
		seg, err := segments.Compile(src, sc)
		require.NoError(t, err)
		aud, err := segments.NewAudience(st, seg, "", "")
		require.NoError(t, err)
		for _, format := range segments.Formats {
			t.Run(string(seg.Path())+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				n, err := segments.WriteMemberExport(ctx, st, aud, format, &buf, segments.MemberExport{Traits: traits})
				require.NoError(t, err)
				require.Equal(t, int64(2), n)
				switch format {
				case "csv", "jsonl":
					require.Equal(t, wantText[format], buf.String())
				case "arrow":
					r, err := ipc.NewFileReader(bytes.NewReader(buf.Bytes()))
					require.NoError(t, err)
					defer r.Close()
					var got []string
					for _, f := range r.Schema().Fields() {
						got = append(got, f.Name+" "+f.Type.String())
					}
					require.Equal(t, []string{"profile_id int64", "user_id utf8", "email utf8", "phone utf8", "timezone utf8",
						"plan utf8", "age int64", "score float64", "vip bool", "seen_at timestamp[us]", "tags list<l: utf8, nullable>"}, got)
					rec, err := r.Record(0)
					require.NoError(t, err)
					require.Equal(t, int64(2), rec.NumRows())
					require.Equal(t, arrow.INT64, rec.Column(6).DataType().ID())
				case "parquet":
					require.Equal(t, []string{"profile_id BIGINT", "user_id VARCHAR", "email VARCHAR", "phone VARCHAR", "timezone VARCHAR",
						"plan VARCHAR", "age BIGINT", "score DOUBLE", "vip BOOLEAN", "seen_at TIMESTAMP", "tags VARCHAR[]"}, parquetColumns(t, st, buf.Bytes()))
				}
			})
		}
	}
}

// parquetColumns reads a Parquet file's column names and DuckDB types.
func parquetColumns(t *testing.T, st *engine.Store, data []byte) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.parquet")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	rows, err := st.DB().Query(fmt.Sprintf(`DESCRIBE SELECT * FROM read_parquet('%s')`, path))
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		out = append(out, fmt.Sprint(vals[0])+" "+fmt.Sprint(vals[1]))
	}
	require.NoError(t, rows.Err())
	return out
}

// TestMemberExportIDsWithNamedContact: a list of ids takes a contact column
// only when it is named; --all-traits adds the traits, not the contact
// columns; a named column already in the list is not repeated.
func TestMemberExportIDsWithNamedContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := traitStore(t)
	sc, err := segments.SchemaFromStore(ctx, st)
	require.NoError(t, err)
	seg, err := segments.Compile(`country == "TH"`, sc)
	require.NoError(t, err)
	aud, err := segments.NewAudience(st, seg, "", "")
	require.NoError(t, err)
	cases := []struct {
		name    string
		traits  []string
		all     bool
		idsOnly bool
		added   []string
		header  string
	}{
		{"ids with email", []string{"email"}, false, true, []string{"email"}, "profile_id,email"},
		// The catalogue's order: a map row's keys arrive sorted.
		{"all traits", nil, true, true, []string{"age", "country", "plan", "score", "seen_at", "tags", "vip"},
			"profile_id,age,country,plan,score,seen_at,tags,vip"},
		{"all traits and phone", []string{"phone", "plan"}, true, true, []string{"age", "country", "plan", "score", "seen_at", "tags", "vip", "phone"},
			"profile_id,age,country,plan,score,seen_at,tags,vip,phone"},
		{"contact list names email again", []string{"email", "plan"}, false, false, []string{"plan"},
			"profile_id,user_id,email,phone,timezone,plan"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			traits, err := segments.MemberTraits(ctx, st, tc.traits, tc.all)
			require.NoError(t, err)
			o := segments.MemberExport{IDsOnly: tc.idsOnly, Traits: traits}
			require.Equal(t, tc.added, o.Added())
			var buf bytes.Buffer
			_, err = segments.WriteMemberExport(ctx, st, aud, "csv", &buf, o)
			require.NoError(t, err)
			require.Equal(t, tc.header, strings.SplitN(buf.String(), "\n", 2)[0])
		})
	}
}

func TestMemberTraitsRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := traitStore(t)
	cases := []struct {
		names       []string
		reason, msg string
	}{
		{[]string{"plan", "plann"}, "unknown", `unknown trait "plann" (known: user_id, email, phone, timezone, age, country, plan, score, seen_at, tags, vip)`},
		{[]string{"plan", "plan"}, "repeated", `trait "plan" is named twice`},
		{[]string{"profile_id"}, "reserved", `"profile_id" is the member id column, not a trait`},
		{[]string{"restricted"}, "unknown", `unknown trait "restricted"`},
	}
	for _, tc := range cases {
		_, err := segments.MemberTraits(ctx, st, tc.names, false)
		var te *segments.TraitError
		require.True(t, errors.As(err, &te), "%v: %v", tc.names, err)
		require.Equal(t, tc.reason, te.Reason)
		require.Contains(t, err.Error(), tc.msg)
	}
	none, err := segments.MemberTraits(ctx, st, nil, false)
	require.NoError(t, err)
	require.Empty(t, none)
}
