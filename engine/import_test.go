package engine_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

const crmCSV = `user_id,email,phone,country,timezone,age,ltv,vip,signup_at,plan,updated_at
u1, Ann@Example.COM ,081-234-5678,TH,Asia/Bangkok,31,120.5,true,2025-01-02T03:04:05Z,pro,2026-01-01T00:00:00Z
u2,bob@example.com,,GB,Europe/London,,99,false,2024-05-01,free,2026-01-01T00:00:00Z
u3,family@example.com,+44 7700 900123,GB,,45,1.25,false,2024-05-01,basic,2026-01-01T00:00:00Z
u4,family@example.com,,GB,,46,2,false,2024-05-01,basic,2026-01-01T00:00:00Z
`

func TestImportProfilesInfersTypesAndNormalises(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	res := mustImport(t, s, engine.ImportProfiles, writeFile(t, "crm.csv", crmCSV))
	require.Equal(t, 4, res.Rows)
	require.Equal(t, 4, res.ProfilesCreated)
	traits, err := s.Traits(ctx)
	require.NoError(t, err)
	require.Equal(t, []engine.Trait{
		{Name: "country", Type: engine.TypeString}, {Name: "age", Type: engine.TypeInt},
		{Name: "ltv", Type: engine.TypeFloat}, {Name: "vip", Type: engine.TypeBool},
		{Name: "signup_at", Type: engine.TypeTimestamp}, {Name: "plan", Type: engine.TypeString},
	}, traits)
	p, err := s.Profile(ctx, resolve(t, s, "ANN@example.com"))
	require.NoError(t, err)
	require.Equal(t, "ann@example.com", p.Email, "emails are trimmed and lower-cased")
	require.Equal(t, "+66812345678", p.Phone, "a Thai local number becomes E.164 using the row's country")
	require.Equal(t, "Asia/Bangkok", p.Timezone)
	require.Equal(t, int64(31), p.Traits["age"])
	require.Equal(t, 120.5, p.Traits["ltv"])
	require.Equal(t, true, p.Traits["vip"])
	require.Equal(t, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), p.Traits["signup_at"])
	bob, err := s.Profile(ctx, resolve(t, s, "u2"))
	require.NoError(t, err)
	_, hasAge := bob.Traits["age"]
	require.False(t, hasAge, "an empty CSV field is missing, not zero")
	require.Equal(t, "+66812345678", func() string { p, _ := s.Profile(ctx, resolve(t, s, "0812345678")); return p.Phone }(), "lookups normalise too")
}

func TestImportIsIdempotent(t *testing.T) {
	t.Parallel()
	s, clk, _ := openStore(t)
	ctx := context.Background()
	crm := writeFile(t, "crm.csv", crmCSV)
	events := writeFile(t, "events.csv", `email,event,timestamp,properties
ann@example.com,purchase,2026-10-01T10:00:00Z,"{""amount"": 10}"
bob@example.com,page_viewed,2026-10-02T10:00:00Z,
`)
	mustImport(t, s, engine.ImportProfiles, crm)
	mustImport(t, s, engine.ImportEvents, events)
	before := counts(t, s)
	p1, err := s.Profile(ctx, resolve(t, s, "u1"))
	require.NoError(t, err)
	clk.Advance(time.Hour)
	again := mustImport(t, s, engine.ImportProfiles, crm)
	require.Zero(t, again.ProfilesCreated)
	require.Zero(t, again.ProfilesUpdated)
	ev := mustImport(t, s, engine.ImportEvents, events)
	require.Zero(t, ev.EventsAdded, "events without message_id are keyed by their content")
	require.Equal(t, 2, ev.EventsDuplicate)
	require.Equal(t, before, counts(t, s))
	p2, err := s.Profile(ctx, resolve(t, s, "u1"))
	require.NoError(t, err)
	require.Equal(t, p1, p2, "a re-import leaves profiles exactly as they were")
}

func TestMalformedRowRejectsWholeFile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, content, want string
		kind                      engine.ImportKind
	}{
		{"bad email", "p.csv", "user_id,email,age\nu9,ok@example.com,1\nu10,not-an-email,2\n", `p.csv:3:5: field "email": "not-an-email" is not an email address`, engine.ImportProfiles},
		{"existing int trait gets text", "p.csv", "user_id,age\nu9,40\nu10,forty\n", `p.csv:3:5: field "age": value "forty" does not fit trait "age", which holds an integer`, engine.ImportProfiles},
		{"bad time zone", "p.csv", "user_id,timezone\nu9,Mars/Olympus\n", `p.csv:2:4: field "timezone": "Mars/Olympus" is not an IANA time zone`, engine.ImportProfiles},
		{"row without identity", "p.csv", "user_id,plan\n,pro\n", `p.csv:2: row has no identity`, engine.ImportProfiles},
		{"no identity column", "p.csv", "plan\npro\n", `p.csv:1: no identity column`, engine.ImportProfiles},
		{"reserved trait name", "p.csv", "user_id,restricted\nu1,true\n", `p.csv:1:9: field "restricted": "restricted" is reserved`, engine.ImportProfiles},
		{"ragged csv", "p.csv", "user_id,plan\nu1,pro\nu2,pro,extra\n", `p.csv:3: wrong number of fields (the header has 2)`, engine.ImportProfiles},
		{"bad json line", "p.jsonl", "{\"user_id\":\"u1\"}\n{\"user_id\": \n", `p.jsonl:2: invalid JSON`, engine.ImportProfiles},
		{"bad event timestamp", "e.csv", "user_id,event,timestamp\nu1,purchase,2026-01-01T00:00:00Z\nu1,purchase,yesterday\n", `e.csv:3:13: field "timestamp": "yesterday" is not an RFC 3339 timestamp or a date`, engine.ImportEvents},
		{"properties not an object", "e.jsonl", "{\"user_id\":\"u1\",\"event\":\"x\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"properties\":[1]}\n", `e.jsonl:1: field "properties": properties must be a JSON object`, engine.ImportEvents},
		{"context not an object", "e.csv", "user_id,event,timestamp,context\nu1,x,2026-01-01T00:00:00Z,{}\nu1,y,2026-01-01T00:00:00Z,just text\n", `e.csv:3:27: field "context": context must be a JSON object`, engine.ImportEvents},
		{"unknown event column", "e.csv", "user_id,event,timestamp,colour\nu1,x,2026-01-01T00:00:00Z,red\n", `e.csv:1:25: field "colour": unknown column for events`, engine.ImportEvents},
		{"unknown purpose", "c.csv", "user_id,purpose,channel,status,timestamp\nu1,lottery,email,granted,2026-01-01T00:00:00Z\n", `c.csv:2:4: field "purpose": unknown purpose "lottery"`, engine.ImportConsents},
		{"unknown status", "c.csv", "user_id,purpose,channel,status,timestamp\nu1,marketing,email,maybe,2026-01-01T00:00:00Z\n", `c.csv:2:20: field "status": unknown status "maybe"`, engine.ImportConsents},
		{"expiry before effect", "c.csv", "user_id,purpose,channel,status,timestamp,expires_at\nu1,marketing,email,granted,2026-01-01T00:00:00Z,2025-01-01T00:00:00Z\n", `field "expires_at": expires_at must be after timestamp`, engine.ImportConsents},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, _ := openStore(t)
			ctx := context.Background()
			mustImport(t, s, engine.ImportProfiles, writeFile(t, "seed.csv", "user_id,email,age\nu1,seed@example.com,30\n"))
			before := counts(t, s)
			traitsBefore, err := s.Traits(ctx)
			require.NoError(t, err)
			colsBefore := columnCount(t, s)

			_, err = s.Import(ctx, tc.kind, writeFile(t, tc.file, tc.content))
			require.Error(t, err)
			var ie *engine.ImportError
			require.True(t, errors.As(err, &ie), "want *engine.ImportError, got %T: %v", err, err)
			require.Contains(t, err.Error(), tc.want)

			require.Equal(t, before, counts(t, s), "a rejected file writes nothing")
			traitsAfter, err := s.Traits(ctx)
			require.NoError(t, err)
			require.Equal(t, traitsBefore, traitsAfter)
			require.Equal(t, colsBefore, columnCount(t, s), "no trait column is left behind")
		})
	}
}

func columnCount(t *testing.T, s *engine.Store) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'profiles'`).Scan(&n))
	return n
}

func TestParquetImportReadsThroughDuckDB(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	path := fmt.Sprintf("%s/p.parquet", t.TempDir())
	_, err := s.DB().Exec(fmt.Sprintf(`COPY (SELECT 'u' || i AS user_id, 'p' || i || '@example.com' AS email, i * 1.5 AS score,
		['a', 'b'] AS tags, TIMESTAMP '2026-01-01 00:00:00' AS seen_at FROM range(1, 4) t(i)) TO '%s' (FORMAT parquet)`, path))
	require.NoError(t, err)
	res := mustImport(t, s, engine.ImportProfiles, path)
	require.Equal(t, 3, res.ProfilesCreated)
	p, err := s.Profile(context.Background(), resolve(t, s, "p2@example.com"))
	require.NoError(t, err)
	require.Equal(t, 3.0, p.Traits["score"])
	require.Equal(t, []any{"a", "b"}, p.Traits["tags"])
	require.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), p.Traits["seen_at"])
}

func TestNewerRowsWinAndMissingNeverErases(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "a.csv", "user_id,plan,age,updated_at\nu1,pro,30,2026-05-01T00:00:00Z\n"))
	// Older row: only fills what is missing.
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "b.csv", "user_id,plan,city,updated_at\nu1,free,Bangkok,2026-01-01T00:00:00Z\n"))
	// Newer row with an empty age: plan changes, age stays.
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "c.csv", "user_id,plan,age,updated_at\nu1,basic,,2026-06-01T00:00:00Z\n"))
	p, err := s.Profile(ctx, resolve(t, s, "u1"))
	require.NoError(t, err)
	require.Equal(t, "basic", p.Traits["plan"])
	require.Equal(t, int64(30), p.Traits["age"])
	require.Equal(t, "Bangkok", p.Traits["city"])
	require.Equal(t, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), p.UpdatedAt)
}
