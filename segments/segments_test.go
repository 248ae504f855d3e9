package segments_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/segments"
	"github.com/tactcdp/tact/segments/bench"
)

func openStore(t *testing.T, clk clock.Clock) *engine.Store {
	t.Helper()
	st, err := engine.Open(context.Background(), filepath.Join(t.TempDir(), "tact.duckdb"), engine.Options{Clock: clk})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func TestNoUserTextInSQL(t *testing.T) {
	t.Parallel()
	sc := segments.Schema{Traits: []engine.Trait{{Name: "country", Type: engine.TypeString}, {Name: "age", Type: engine.TypeInt}}}
	tests := []string{
		`country == "x'); DROP TABLE profiles; --"`,
		`country in ["TH'--", "zz_marker"]`,
		`country contains "zz_marker" and age > 12345`,
		`any(events, .properties.zz_marker == "zz_marker")`,
	}
	for _, src := range tests {
		seg, err := segments.Compile(src, sc)
		require.NoError(t, err)
		require.Equal(t, segments.PathSQL, seg.Path(), seg.Reasons())
		sql := seg.SQL()
		require.NotContains(t, sql, "DROP")
		require.NotContains(t, sql, "TH'")
		require.NotContains(t, sql, "12345")
		require.NotContains(t, sql, `"zz_marker"`, "values are bound, never spliced")
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	sc := segments.Schema{Traits: []engine.Trait{{Name: "country", Type: engine.TypeString}, {Name: "age", Type: engine.TypeInt}}}
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{`countri == "TH"`, 1, 1, "did you mean `country`"},
		{`age > "x"`, 1, 5, "mismatched types"},
		{"age > 1 and\n\tcountry == 1", 2, 10, "mismatched types"},
		{`$env`, 1, 1, "not available"},
		{``, 1, 1, "empty expression"},
		{`ago("5y") < now()`, 1, 5, "unknown unit"},
		{`(((`, 1, 3, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			_, err := segments.Compile(tt.src, sc)
			var ce *segments.Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tt.line, ce.Line, err.Error())
			require.Equal(t, tt.col, ce.Column, err.Error())
			require.Contains(t, err.Error(), tt.msg)
		})
	}
}

// TestConcurrentEval: one compiled segment shared by many goroutines.
func TestConcurrentEval(t *testing.T) {
	t.Parallel()
	sc := segments.Schema{Traits: []engine.Trait{{Name: "age", Type: engine.TypeInt}}}
	seg, err := segments.Compile(`age > 30 and count(events, .timestamp > ago("1d")) >= 1`, sc)
	require.NoError(t, err)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	snap := &segments.Snapshot{ID: 1, Fields: map[string]any{"age": int64(40)}, Events: []segments.Event{{Name: "x", Timestamp: now.Add(-time.Hour)}}}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := seg.NewEvaluator(segments.Env{Now: now})
			for i := 0; i < 500; i++ {
				if !ev.Eval(snap) {
					t.Error("want true")
					return
				}
			}
		}()
	}
	wg.Wait()
	// now() comes from the evaluation context, not the wall clock.
	ok, err := seg.Eval(snap, segments.Env{Now: now.Add(48 * time.Hour)})
	require.NoError(t, err)
	require.False(t, ok)
}

func TestSavedSegmentsDiffAndRecheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	st := openStore(t, clk)
	_, err := st.ImportRows(ctx, engine.ImportProfiles, "p", []map[string]any{
		{"user_id": "a", "age": int64(30)}, {"user_id": "b", "age": int64(40)}, {"user_id": "c", "age": int64(20)},
	})
	require.NoError(t, err)
	d, err := segments.Save(ctx, st, "adults", `age >= 25 and count(events, .event == "purchase") == 0`)
	require.NoError(t, err)
	require.Equal(t, segments.Diff{Segment: "adults", Computation: 1, Members: 2, Entered: 2}, d)

	// b buys: b leaves at the next computation, c ages in.
	_, err = st.ImportRows(ctx, engine.ImportEvents, "e", []map[string]any{{"user_id": "b", "event": "purchase", "timestamp": "2026-10-30T00:00:00Z"}})
	require.NoError(t, err)
	_, err = st.ImportRows(ctx, engine.ImportProfiles, "p2", []map[string]any{{"user_id": "c", "age": int64(26)}})
	require.NoError(t, err)
	d, err = segments.Refresh(ctx, st, "adults")
	require.NoError(t, err)
	require.Equal(t, segments.Diff{Segment: "adults", Computation: 2, Members: 2, Entered: 1, Exited: 1}, d)
	changes, err := segments.Changes(ctx, st, "adults", 0)
	require.NoError(t, err)
	require.Len(t, changes, 2)
	got := map[string]string{}
	for _, c := range changes {
		got[userIDs(t, st, []int64{c.ProfileID})[0]] = c.Change
	}
	require.Equal(t, map[string]string{"b": segments.Exited, "c": segments.Entered}, got)

	// A single-profile re-check after a's purchase.
	_, err = st.ImportRows(ctx, engine.ImportEvents, "e2", []map[string]any{{"user_id": "a", "event": "purchase", "timestamp": "2026-10-31T00:00:00Z"}})
	require.NoError(t, err)
	aID, err := st.ResolveUser(ctx, "a")
	require.NoError(t, err)
	ch, err := segments.Recheck(ctx, st, "adults", aID)
	require.NoError(t, err)
	require.Equal(t, segments.Exited, ch)
	ch, err = segments.Recheck(ctx, st, "adults", aID)
	require.NoError(t, err)
	require.Equal(t, "", ch, "nothing changes twice")

	// in_segment reads the materialised membership.
	sc, err := segments.SchemaFromStore(ctx, st)
	require.NoError(t, err)
	seg, err := segments.Compile(`in_segment("adults")`, sc)
	require.NoError(t, err)
	ids, err := seg.MemberIDs(ctx, st)
	require.NoError(t, err)
	require.Equal(t, []string{"c"}, userIDs(t, st, ids))

	list, err := segments.List(ctx, st)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, int64(1), list[0].Members)
	_, err = segments.Save(ctx, st, "loop", `in_segment("loop")`)
	require.ErrorContains(t, err, "refers to itself")
	_, err = segments.Save(ctx, st, "Bad Name", `true`)
	require.Error(t, err)

	// A VM-path saved segment is staged through the Appender.
	d, err = segments.Save(ctx, st, "vm", `string(age) == "26"`)
	require.NoError(t, err)
	require.Equal(t, int64(1), d.Members)
}

func TestWriteMembersFormats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t, clock.Fixed(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)))
	_, err := st.ImportRows(ctx, engine.ImportProfiles, "p", []map[string]any{
		{"user_id": "a", "email": "a@example.com", "country": "TH"},
		{"user_id": "b", "country": "TH"},
		{"user_id": "c", "country": "US"},
	})
	require.NoError(t, err)
	sc, err := segments.SchemaFromStore(ctx, st)
	require.NoError(t, err)
	for _, src := range []string{`country == "TH"`, `country == "TH" and string(1) == "1"`} {
		seg, err := segments.Compile(src, sc)
		require.NoError(t, err)
		aud, err := segments.NewAudience(st, seg, "", "")
		require.NoError(t, err)
		for _, format := range segments.Formats {
			t.Run(string(seg.Path())+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				n, err := segments.WriteMembers(ctx, st, aud, format, &buf)
				require.NoError(t, err)
				require.Equal(t, int64(2), n)
				switch format {
				case "csv":
					recs, err := csv.NewReader(&buf).ReadAll()
					require.NoError(t, err)
					require.Equal(t, []string{"profile_id", "user_id", "email", "phone", "timezone"}, recs[0])
					require.Equal(t, "a", recs[1][1])
					require.Equal(t, "a@example.com", recs[1][2])
					require.Equal(t, "b", recs[2][1])
				case "jsonl":
					lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
					require.Len(t, lines, 2)
					var m map[string]any
					require.NoError(t, json.Unmarshal([]byte(lines[1]), &m))
					require.Equal(t, "b", m["user_id"])
					require.NotContains(t, m, "email", "missing values are omitted")
				case "arrow":
					r, err := ipc.NewFileReader(bytes.NewReader(buf.Bytes()))
					require.NoError(t, err)
					defer r.Close()
					rows := int64(0)
					for i := 0; i < r.NumRecords(); i++ {
						rec, err := r.Record(i)
						require.NoError(t, err)
						rows += rec.NumRows()
					}
					require.Equal(t, int64(2), rows)
					require.True(t, r.Schema().Equal(segments.MemberSchema))
				case "parquet":
					require.True(t, bytes.HasPrefix(buf.Bytes(), []byte("PAR1")))
				}
			})
		}
	}
	_, err = segments.WriteMembers(ctx, st, &segments.Audience{}, "xml", &bytes.Buffer{})
	require.Error(t, err)
}

func TestAudienceValidation(t *testing.T) {
	t.Parallel()
	st := openStore(t, clock.Fixed(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)))
	seg, err := segments.Compile(`true`, segments.Schema{})
	require.NoError(t, err)
	for _, pc := range [][2]string{{"nope", "email"}, {"marketing", "fax"}, {"*", "email"}, {"marketing", "*"}, {"marketing", ""}} {
		_, err := segments.NewAudience(st, seg, pc[0], pc[1])
		require.Error(t, err, "%v", pc)
	}
}

// TestBenchTiny runs `tact bench`'s measurement on a tiny data set.
func TestBenchTiny(t *testing.T) {
	t.Parallel()
	r, err := bench.Run(context.Background(), bench.Options{Profiles: 3000, EventsPerProfile: 4, Dir: t.TempDir(), Repeat: 1, VMSample: 500})
	require.NoError(t, err)
	require.True(t, r.Agree, "SQL path, VM path and hand-written SQL agree")
	require.Equal(t, "sql", r.Path)
	require.Positive(t, r.Segment.SQL.Count)
	require.Positive(t, r.Ratios.VMOverSQLSegment)
}
