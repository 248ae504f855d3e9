package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/journeys"
)

// The demo's journey and its templates, built in so `tact demo` works from
// any directory.
const demoJourney = `
name: demo-welcome
description: Welcome recent sign-ups, then follow up by value
purpose: marketing
entry:
  segment: 'signup_at > ago("60d")'
reentry: never
goal: 'count(events, .event == "purchase" and .timestamp >= entered_at) > 0'
steps:
  - id: welcome
    send: {channel: email, template: demo_welcome}
  - id: two-days
    wait: {duration: 2d}
  - id: morning
    wait: {until: "09:00"}
  - id: by-value
    branch:
      - if: 'ltv >= 10000'
        goto: vip
      - else: follow-up
  - id: vip
    update: {set: {demo_vip_welcomed: true}}
    next: end
  - id: follow-up
    send: {channel: email, template: demo_follow_up}
`

const demoWelcomeHTML = `---
purpose: marketing
subject: "Welcome, {{ .traits.first_name | default \"friend\" }}!"
---
<html><body>
<p>Hi {{ .traits.first_name | default "there" }}, thanks for joining Tact Coffee.</p>
<p style="font-size:12px"><a href="{{ .unsubscribe_url }}">Unsubscribe</a> · <a href="{{ .preferences_url }}">Preferences</a></p>
</body></html>
`

const demoFollowUpHTML = `---
purpose: marketing
subject: "Your first cup is on us, {{ .traits.first_name | default \"friend\" }}"
---
<html><body>
<p>Hi {{ .traits.first_name | default "there" }}, show this email for a free cup this week.</p>
<p style="font-size:12px"><a href="{{ .unsubscribe_url }}">Unsubscribe</a> · <a href="{{ .preferences_url }}">Preferences</a></p>
</body></html>
`

// journeyDemo publishes a sample journey, runs a week of journey time into
// the file email channel and prints the stats. The outbox is outDir when
// given (kept), else a temporary folder (removed).
func journeyDemo(ctx context.Context, a *app, s *engine.Store, outDir string) error {
	dir := outDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tact-demo-outbox-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []*templates.Template
	for name, src := range map[string]string{"demo_welcome": demoWelcomeHTML, "demo_follow_up": demoFollowUpHTML} {
		t, err := templates.New(name, templates.ChannelEmail, name+".email.html", src, true, "", "")
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	set, err := templates.NewSet(ts...)
	if err != nil {
		return err
	}
	// The database's own link key, as tact serve uses: links in a kept
	// outbox work against `tact --db PATH serve`.
	links, err := a.fileLinks(s, "")
	if err != nil {
		return err
	}
	clk := clock.NewManual(s.Clock().Now())
	var r *journeys.Runner
	ch, err := fileEmail(set, dir, links, clk, channels.GateFunc(func(ctx context.Context, c string, m channels.Message) (string, error) {
		return r.Gate().Check(ctx, c, m)
	}))
	if err != nil {
		return err
	}
	r, err = journeys.New(s, journeys.Config{Channels: []channels.Channel{ch}, Templates: set, Clock: clk, Evaluator: journeys.NewSegmentsEvaluator(s)})
	if err != nil {
		return err
	}
	v, err := r.Publish(ctx, "demo-welcome.yaml", []byte(demoJourney))
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nJourney %q v%d: recent sign-ups get a welcome email, wait two days until 09:00 their time, then a follow-up (or a VIP tag).\n", v.Journey, v.Version)
	fmt.Fprintf(a.stdout, "Running a week of journey time, one tick per simulated two hours, into %s ...\n", dir)
	start := time.Now()
	for h := 0; h <= 7*24; h += 2 {
		if _, err := r.RunUntilIdle(ctx, ""); err != nil {
			return err
		}
		clk.Advance(2 * time.Hour)
	}
	// Its templates live in this binary, not on disk: paused, the journey
	// cannot fail sends under a later tact serve on the same database.
	if err := r.PauseAs(ctx, v.Journey, "demo"); err != nil {
		return err
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	st, err := r.Stats(ctx, v.Journey)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Done in %s: %d .eml files written.\n\n", time.Since(start).Round(time.Millisecond), len(files))
	printJourneyStats(a, st)
	fmt.Fprintln(a.stdout, "\nEvery skipped send has a reason; consent was re-checked right before each file was written.")
	return nil
}
