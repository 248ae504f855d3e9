package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
)

// evHeader is the bench's purchases layout.
const evHeader = "phone,event,timestamp,properties,message_id\n"

// evProfiles links some of the events' identifiers to stored people.
const evProfiles = "user_id,email,phone,plan\nu1,ann@example.com,+66891078263,gold\nu2,bob@example.com,,silver\n"

// comparedTables are what an events import may change.
func comparedTables() []string {
	return []string{"events", "event_ids", "profiles", "identities", "merges", "event_drops"}
}

// memStore opens an in-memory store whose debug log goes to the buffer,
// with the hash key in keyFile (stores sharing it hash alike).
func memStore(t testing.TB, keyFile string) (*engine.Store, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	cfg := testConfig()
	cfg.HashKey = "file:" + keyFile
	s, err := engine.Open(context.Background(), engine.MemoryPath, engine.Options{
		Config: cfg, Clock: clock.NewManual(refNow),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, &logs
}

// dumpTables renders every row of the compared tables, sorted.
func dumpTables(t testing.TB, s *engine.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range comparedTables() {
		rows, err := s.DB().QueryContext(context.Background(), `SELECT * FROM `+table+` ORDER BY ALL`)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			out[table] = append(out[table], fmt.Sprint(vals...))
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
	}
	return out
}

// outcome is what one import did: its result (without the duration) or
// error, and the tables after it.
type outcome struct {
	res    engine.ImportResult
	err    string
	tables map[string][]string
}

func importOutcome(t testing.TB, ctx context.Context, s *engine.Store, path string) outcome {
	t.Helper()
	res, err := s.Import(ctx, engine.ImportEvents, path)
	res.Duration = 0
	o := outcome{res: res, tables: dumpTables(t, s)}
	if err != nil {
		var ie *engine.ImportError
		require.True(t, errors.As(err, &ie), "an import error: %v", err)
		o.err = err.Error()
	}
	return o
}

// bothPaths imports the events file at path (twice) into a store through
// the set-based path and into another through the row path, both holding
// profiles first when given, and returns the logs of the set-based store
// and each path's outcomes.
func bothPaths(t testing.TB, profiles, path string) (string, [2][2]outcome) {
	t.Helper()
	logs, got := pathsInTurn(t, profiles, path, path)
	return logs, [2][2]outcome{{got[0][0], got[0][1]}, {got[1][0], got[1][1]}}
}

// pathsInTurn imports the events files at paths, in turn, into a store
// through the set-based path and into another through the row path, as
// bothPaths does.
func pathsInTurn(t testing.TB, profiles string, paths ...string) (string, [2][]outcome) {
	t.Helper()
	key := filepath.Join(filepath.Dir(paths[0]), "hash.key")
	fast, logs := memStore(t, key)
	slow, _ := memStore(t, key)
	rowCtx := engine.RowByRow(context.Background())
	if profiles != "" {
		p := filepath.Join(filepath.Dir(paths[0]), "profiles.csv")
		require.NoError(t, os.WriteFile(p, []byte(profiles), 0o644))
		_, err := fast.Import(context.Background(), engine.ImportProfiles, p)
		require.NoError(t, err)
		_, err = slow.Import(rowCtx, engine.ImportProfiles, p)
		require.NoError(t, err)
		logs.Reset()
	}
	var got [2][]outcome
	for _, p := range paths {
		got[0] = append(got[0], importOutcome(t, context.Background(), fast, p))
		got[1] = append(got[1], importOutcome(t, rowCtx, slow, p))
	}
	return logs.String(), got
}

func TestEventsCSVSetBasedMatchesRowByRow(t *testing.T) {
	t.Parallel()
	var big strings.Builder
	big.WriteString(evHeader)
	for i := range 5000 {
		id := fmt.Sprintf("pos-%06d", i)
		if i%7 == 0 {
			id = "" // a digest
		}
		fmt.Fprintf(&big, "+6689107%04d,purchase,2026-03-16T16:%02d:%02d+07:00,\"{\"\"store\"\":\"\"KKC-%02d\"\",\"\"amount\"\":%d}\",%s\n",
			i%900, i/60%60, i%60, i%13, i%500, id)
	}
	cases := []struct{ name, profiles, csv string }{
		{"bench layout", evProfiles, evHeader +
			`+66891078263,purchase,2026-03-16T16:04:45+07:00,"{""store"":""KKC-01"",""amount"":439}",pos-4d4e09ae6a10d40b` + "\n" +
			`+66891078264,purchase,2026-03-16T16:05:45+07:00,"{""store"":""KKC-02"",""amount"":12}",pos-4d4e09ae6a10d40c` + "\n"},
		{"phones without a plus", evProfiles, "phone,event,timestamp\n0891078263,view,2026-03-16T16:04:45+07:00\n891078265,view,2026-03-16T16:04:46+07:00\n+66 89 107 8266,view,2026-03-16T16:04:47Z\n"},
		{"emails in upper case and spaces", evProfiles, "email,event,timestamp\n  Ann@Example.COM ,open,2026-01-02T03:04:05Z\nBOB@example.com,open,2026-01-02T03:04:06Z\n\" carol@EXAMPLE.com\",open,2026-01-02T03:04:07Z\n"},
		{"user and anonymous ids together", evProfiles, "user_id,anonymous_id,event,timestamp\nu1,a-1,view,2026-02-01T00:00:00Z\nu3,a-3,view,2026-02-01T00:00:01Z\n,a-1,view,2026-02-01T00:00:02Z\nu4,,view,2026-02-01T00:00:03Z\n"},
		{"a person over non-adjacent rows", "", "user_id,email,event,timestamp\nu1,ann@example.com,view,2026-02-01T00:00:00Z\nu2,,view,2026-02-01T00:00:01Z\nu1,ann@example.com,buy,2026-02-01T00:00:02Z\n,ann@example.com,view,2026-02-01T00:00:03Z\nu2,,buy,2026-02-01T00:00:04Z\nu1,ann@example.com,view,2026-02-01T00:00:05Z\n"},
		{"every identity kind", "", "user_id,email,phone,anonymous_id,device_token,line_user_id,event,timestamp\n" +
			",,,,,U0123456789abcdef0123456789abcdef,follow,2026-02-01T00:00:00Z\n,,,,tok-1,,open,2026-02-01T00:00:01Z\n,,,anon-9,tok-1,,open,2026-02-01T00:00:02Z\n,,0812345678,anon-9,,,open,2026-02-01T00:00:03Z\n"},
		{"missing properties and context", "", "user_id,event,timestamp,properties,context\nu1,view,2026-02-01T00:00:00Z,,\nu1,view,2026-02-01T00:00:01Z,\"{\"\"a\"\":1}\",\nu1,view,2026-02-01T00:00:02Z,,\"{\"\"ip\"\":\"\"10.0.0.1\"\"}\"\n"},
		{"properties with space, escapes and nesting", "", "user_id,event,timestamp,properties,context\n" +
			`u1,view,2026-02-01T00:00:00Z," { ""a"" : ""\u0e01\u0e02"" , ""n"" : { ""x"" : [ 1 , 2.50 , {""y"":null} ] } } ",` + "\n" +
			`u1,view,2026-02-01T00:00:01Z,"{""a"":""ก"",""e"":""\"" \\ \/ \n""}"," {""page"" : {""path"":""/x""}}"` + "\n" +
			`u2,view,2026-02-01T00:00:02Z,{},{}` + "\n"},
		{"message ids present, absent, with spaces", "", "user_id,event,timestamp,properties,message_id\n" +
			"u1,view,2026-02-01T00:00:00Z,,m-1\nu1,view,2026-02-01T00:00:01Z,,\nu1,view,2026-02-01T00:00:02Z,,  m-2  \nu2,view,2026-02-01T00:00:02Z,,\" m-1\"\nu2,view,2026-02-01T00:00:03Z,\"{\"\"k\"\":1}\",\n"},
		{"duplicate rows", evProfiles, "user_id,event,timestamp,message_id\nu1,view,2026-02-01T00:00:00Z,\nu1,view,2026-02-01T00:00:00Z,\nu1,view,2026-02-01T00:00:00Z,m1\nu1,click,2026-02-01T00:00:01Z,m1\nu2,view,2026-02-01T00:00:00Z,\n"},
		{"timestamps with offsets, fractions and Z", "", "user_id,event,timestamp\nu1,a,2026-02-01T00:00:00Z\nu1,b,2026-02-01T07:00:00+07:00\nu1,c,2026-02-01T00:00:00.123456789Z\nu1,d,2026-02-01T00:00:00.1-03:30\nu1,e,2026-02-01\nu1,f, 2026-02-01T00:00:00Z \nu1,g,2025-12-31T23:59:59.000001+00:00\n"},
		{"event names with space", "", "user_id,event,timestamp\nu1,  view ,2026-02-01T00:00:00Z\nu1,view,2026-02-01T00:00:00Z\nu1,\"\tหน้าแรก \",2026-02-01T00:00:01Z\n"},
		{"columns in another order with a BOM and CRLF", "", "\ufeffTimestamp,Event,User_ID,Message_ID\r\n2026-02-01T00:00:00Z,view,u1,\r\n2026-02-01T00:00:01Z,view,u2,x\r\n"},
		{"five thousand rows", evProfiles, big.String()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "events.csv", tc.csv)
			logs, got := bothPaths(t, tc.profiles, path)
			for i, what := range []string{"first import", "second import"} {
				fast, slow := got[0][i], got[1][i]
				require.Empty(t, slow.err, what)
				require.Empty(t, fast.err, what)
				require.Equal(t, slow.res, fast.res, what)
				require.Equal(t, slow.tables, fast.tables, what)
			}
			require.NotContains(t, logs, "row by row", "a valid file is imported set-based")
			require.NotEmpty(t, got[0][0].tables["events"])
			require.Zero(t, got[0][1].res.EventsAdded, "a second import adds nothing")
			require.Equal(t, got[0][0].tables, got[0][1].tables, "a second import changes nothing")

			// Every other row first, then the whole file: the rows stored
			// before are left out, with the identifier sets only they hold,
			// alike on both paths.
			lines := strings.SplitAfter(tc.csv, "\n")
			half := lines[0]
			for i := 1; i < len(lines); i += 2 {
				half += lines[i]
			}
			_, turns := pathsInTurn(t, tc.profiles, writeFile(t, "half.csv", half), path)
			for i, what := range []string{"every other row", "then the whole file"} {
				fast, slow := turns[0][i], turns[1][i]
				require.Empty(t, slow.err, what)
				require.Equal(t, slow.res, fast.res, what)
				require.Equal(t, slow.tables, fast.tables, what)
			}
			require.Equal(t, got[0][0].res.EventsAdded, turns[0][0].res.EventsAdded+turns[0][1].res.EventsAdded,
				"in two turns, the same events")
		})
	}
}

func TestInvalidEventsCSVGoesRowByRow(t *testing.T) {
	t.Parallel()
	const h = "user_id,email,phone,event,timestamp,properties,context,message_id\n"
	const ok = "u1,ann@example.com,0891078263,view,2026-02-01T00:00:00Z,,,\n"
	cases := []struct{ name, csv, want string }{
		{"no identity", h + ok + ",,,view,2026-02-01T00:00:00Z,,,\n", `:3: row has no identity`},
		{"bad email", h + ok + "u2,not-an-address,,view,2026-02-01T00:00:00Z,,,\n", `:3:4: field "email": "not-an-address" is not an email address`},
		{"bad phone", h + ok + "u2,,12,view,2026-02-01T00:00:00Z,,,\n", `:3:5: field "phone"`},
		{"control character in a user id", h + ok + "u\x01,,,view,2026-02-01T00:00:00Z,,,\n", `:3:1: field "user_id": user_id contains a control character`},
		{"bad line user id", "line_user_id,event,timestamp\nU1,view,2026-02-01T00:00:00Z\n", `:2:1: field "line_user_id"`},
		{"no event name", h + ok + "u2,,,,2026-02-01T00:00:00Z,,,\n", `:3:6: field "event": event name is required`},
		{"blank event name", h + ok + "u2,,,   ,2026-02-01T00:00:00Z,,,\n", `:3:6: field "event": want an event name of 1 to 200 characters`},
		{"long event name", h + ok + "u2,,,x" + strings.Repeat("y", 200) + ",2026-02-01T00:00:00Z,,,\n", `:3:6: field "event": want an event name`},
		{"no timestamp", h + ok + "u2,,,view,,,,\n", `:3:11: field "timestamp": timestamp is required`},
		{"bad timestamp", h + ok + "u2,,,view,yesterday,,,\n", `:3:11: field "timestamp": "yesterday" is not an RFC 3339 timestamp or a date`},
		{"timestamp in the future", h + ok + "u2,,,view,2030-01-01T00:00:00Z,,,\n", `:3:11: field "timestamp": 2030-01-01T00:00:00Z is more than`},
		{"timestamp before 2000", h + ok + "u2,,,view,1999-12-31T23:59:59Z,,,\n", `:3:11: field "timestamp": 1999-12-31T23:59:59Z is before 2000-01-01`},
		{"properties a list", h + ok + "u2,,,view,2026-02-01T00:00:00Z,[1],,\n", `:3:32: field "properties": properties must be a JSON object`},
		{"properties not JSON", h + ok + "u2,,,view,2026-02-01T00:00:00Z,{a,,\n", `:3:32: field "properties": properties must be a JSON object`},
		{"context a string", h + ok + "u2,,,view,2026-02-01T00:00:00Z,,\"\"\"x\"\"\",\n", `:3:33: field "context": context must be a JSON object`},
		{"blank message id", h + ok + "u2,,,view,2026-02-01T00:00:00Z,,,   \n", `:3:34: field "message_id": message_id must be 1 to 512 characters`},
		{"long message id", h + ok + "u2,,,view,2026-02-01T00:00:00Z,,," + strings.Repeat("m", 513) + "\n", `:3:34: field "message_id": message_id must be 1 to 512 characters`},
		{"NUL byte", h + ok + "u2,,,vi\x00ew,2026-02-01T00:00:00Z,,,\n", `:3:8: field "event": NUL byte at byte 3`},
		{"replacement character", h + ok + "u2,,,vi\uFFFDew,2026-02-01T00:00:00Z,,,\n", `:3:8: field "event": U+FFFD replacement character`},
		{"invalid UTF-8", h + ok + "u2,,,vi\xffew,2026-02-01T00:00:00Z,,,\n", `:3:8: field "event": invalid UTF-8 (byte 0xff at byte 3)`},
		{"bare quote", h + ok + "u2,,,vi\"ew,2026-02-01T00:00:00Z,,,\n", `:3: column 8: bare " in non-quoted-field`},
		{"a field too many", h + ok + "u2,,,view,2026-02-01T00:00:00Z,,,,\n", `:3: wrong number of fields (the header has 8)`},
		{"no event column", "user_id,timestamp\nu1,2026-02-01T00:00:00Z\n", `:1: missing column "event"`},
		{"unknown column", "user_id,event,timestamp,plan\nu1,view,2026-02-01T00:00:00Z,gold\n", `:1:25: field "plan": unknown column for events`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "events.csv", tc.csv)
			logs, got := bothPaths(t, evProfiles, path)
			fast, slow := got[0][0], got[1][0]
			require.Contains(t, slow.err, path+tc.want, "the row path's error")
			require.Equal(t, slow.err, fast.err, "the same error as the row path")
			require.Equal(t, slow.res, fast.res)
			require.Empty(t, fast.tables["events"], "nothing is written")
			require.Equal(t, slow.tables, fast.tables, "the database is unchanged")
			require.Contains(t, logs, "row by row")
		})
	}
}

// FuzzEventsCSVPaths: whatever the bytes, the set-based path and the row
// path agree on the error or on what they store. An input costs two stores
// and four imports (some 0.1 s): run it with -fuzzminimizetime 10x, or the
// fuzzer spends its time minimizing each new input at a few runs a second.
func FuzzEventsCSVPaths(f *testing.F) {
	f.Add([]byte(evHeader + `+66891078263,purchase,2026-03-16T16:04:45+07:00,"{""store"":""KKC-01"",""amount"":439}",pos-4d4e09ae6a10d40b` + "\n"))
	f.Add([]byte("user_id,email,event,timestamp,properties,context,message_id\nu1, Ann@Example.com ,view,2026-02-01T00:00:00.5+07:00,\" {\"\"a\"\": [1, {}]} \",,\nu1,,view,2026-02-01,,\"{}\", m1 \n,ann@example.com,buy,2026-02-01T00:00:00Z,,,\n"))
	f.Add([]byte("phone,anonymous_id,event,timestamp\n0891078263,a1, x ,2026-02-01T00:00:00Z\r\n,a1,x,2026-02-01T00:00:00Z\r\n"))
	f.Add([]byte("user_id,event,timestamp\nu1,view,yesterday\n"))
	f.Add([]byte("user_id,event,timestamp,properties\nu1,view,2026-02-01T00:00:00Z,\"{\"\"a\"\":\"\"\\u0000\"\"}\"\n"))
	f.Add([]byte("user_id,event,timestamp\nu1,\"a\nb\",2026-02-01T00:00:00Z\n\nu2,c,2026-02-01T00:00:00Z"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "events.csv")
		require.NoError(t, os.WriteFile(p, data, 0o644))
		_, got := bothPaths(t, "", p)
		for i := range 2 {
			fast, slow := got[0][i], got[1][i]
			require.Equal(t, slow.err, fast.err)
			require.Equal(t, slow.res, fast.res)
			require.Equal(t, slow.tables, fast.tables)
		}
	})
}
