package journeys_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/journeys"
)

// printer is a channel that prints what it is sent.
type printer struct{}

func (printer) Name() string { return "email" }
func (printer) Send(_ context.Context, batch []channels.Message) []channels.Result {
	out := make([]channels.Result, len(batch))
	for i, m := range batch {
		fmt.Printf("email %s to %s (step %s)\n", m.Template, m.To, m.Step)
		out[i] = channels.Delivered("")
	}
	return out
}

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "tact-example-")
	defer os.RemoveAll(dir)
	clk := clock.NewManual(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	st, err := engine.Open(ctx, filepath.Join(dir, "tact.duckdb"), engine.Options{Clock: clk})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	_, _ = st.ImportRows(ctx, engine.ImportProfiles, "example", []map[string]any{
		{"user_id": "ann", "email": "ann@example.com", "timezone": "Asia/Bangkok"},
		{"user_id": "bob", "email": "bob@example.com", "timezone": "Europe/London"},
	})
	ann, _ := st.ResolveUser(ctx, "ann")
	bob, _ := st.ResolveUser(ctx, "bob")
	_ = st.RecordConsents(ctx, []engine.ConsentInput{
		{ProfileID: ann, Purpose: "marketing", Channel: "email", Status: consent.Granted, Source: "signup"},
		{ProfileID: bob, Purpose: "marketing", Channel: "email", Status: consent.Granted, Source: "signup"},
	})

	r, err := journeys.New(st, journeys.Config{Channels: []channels.Channel{printer{}}, Clock: clk})
	if err != nil {
		panic(err)
	}
	_, err = r.Publish(ctx, "welcome.yaml", []byte(`
name: welcome
purpose: marketing
entry: api
steps:
  - id: hello
    send: {channel: email, template: welcome}
  - id: later
    wait: {duration: 2d}
  - id: tips
    send: {channel: email, template: tips}
`))
	if err != nil {
		panic(err)
	}
	_, _ = r.Trigger(ctx, "welcome", []journeys.APIEntry{{ProfileID: ann}, {ProfileID: bob}})
	_, _ = r.RunUntilIdle(ctx, "")

	// Bob withdraws; two days later only Ann gets the tips.
	_ = st.RecordConsent(ctx, engine.ConsentInput{ProfileID: bob, Purpose: "marketing", Channel: "email", Status: consent.Withdrawn, Source: "preference_centre"})
	clk.Advance(48 * time.Hour)
	_, _ = r.RunUntilIdle(ctx, "")

	s, _ := r.Stats(ctx, "welcome")
	for _, step := range s.Steps {
		fmt.Printf("%s: entered %d, sent %d, skipped %v\n", step.Step, step.Entered, step.Sent, step.Skipped)
	}
	// Output:
	// email welcome to ann@example.com (step hello)
	// email welcome to bob@example.com (step hello)
	// email tips to ann@example.com (step tips)
	// hello: entered 2, sent 2, skipped map[]
	// later: entered 2, sent 0, skipped map[withdrawn:1]
	// tips: entered 1, sent 1, skipped map[]
}

func ExampleParse() {
	_, err := journeys.Parse("bad.yaml", []byte(`
name: bad
purpose: marketing
entry: {schedule: "TZ=UTC"}
steps:
  - id: a
    split:
      - {percent: 60, goto: b}
      - {percent: 60, goto: b}
  - id: b
    sned: {}
`), journeys.ValidateConfig{})
	fmt.Println(err)
	// Output:
	// bad.yaml: 4 problem(s)
	//   bad.yaml:4:19: entry.schedule: invalid cron spec "TZ=UTC": time zone without a schedule
	//   bad.yaml:8:7: steps[0].split: percentages add up to 120, not 100
	//   bad.yaml:10:5: steps[1]: want exactly one step kind among send, wait, branch, split, update, webhook, exit (got 0)
	//   bad.yaml:11:5: steps[1].sned: unknown step kind or key "sned" (want id, next and one of send, wait, branch, split, update, webhook, exit)
}
