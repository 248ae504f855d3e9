package segments_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/segments"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "segments-example-")
	defer os.RemoveAll(dir)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	st, err := engine.Open(ctx, filepath.Join(dir, "tact.duckdb"), engine.Options{Clock: clock.Fixed(now)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	st.ImportRows(ctx, engine.ImportProfiles, "example", []map[string]any{
		{"user_id": "ann", "email": "ann@example.com", "country": "TH", "age": int64(31)},
		{"user_id": "bob", "email": "bob@example.com", "country": "TH", "age": int64(42)},
		{"user_id": "cem", "country": "TR", "age": int64(29)},
	})
	st.ImportRows(ctx, engine.ImportEvents, "example", []map[string]any{
		{"user_id": "ann", "event": "purchase", "timestamp": "2026-10-20T10:00:00Z"},
		{"user_id": "ann", "event": "purchase", "timestamp": "2026-10-28T10:00:00Z"},
		{"user_id": "bob", "event": "purchase", "timestamp": "2026-10-30T10:00:00Z"},
		{"user_id": "bob", "event": "purchase", "timestamp": "2026-10-31T10:00:00Z"},
	})
	st.ImportRows(ctx, engine.ImportConsents, "example", []map[string]any{
		{"user_id": "ann", "purpose": "marketing", "channel": "email", "status": "granted", "timestamp": "2026-01-01T00:00:00Z"},
	})

	schema, _ := segments.SchemaFromStore(ctx, st)
	seg, err := segments.Compile(`country == "TH" and age >= 25 and count(events, .event == "purchase" and .timestamp > ago("30d")) >= 2`, schema)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("path:", seg.Path())
	aud, _ := segments.NewAudience(st, seg, "marketing", "email")
	c, _ := aud.Count(ctx, st)
	fmt.Printf("segment %d, audience %d, removed for no consent %d\n", c.Segment, c.Count, c.Removed.NoConsent)

	_, err = segments.Compile(`countryy == "TH"`, schema)
	fmt.Println(err)
	// Output:
	// path: sql
	// segment 2, audience 1, removed for no consent 1
	// 1:1: unknown name countryy (did you mean `country`?)
}
