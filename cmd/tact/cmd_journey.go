package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/tactcdp/tact/journeys"
)

func journeyCommands(m map[string]command) {
	m["journey"] = command{journeySyntax, cmdJourney}
}

const (
	journeySyntax = "journey validate|publish FILE | list | run [NAME] [--until-idle] | stats NAME | failures NAME | pause NAME | resume NAME | trigger NAME --user U [--payload JSON] | preview FILE|NAME [--people N] | test-send NAME --to ADDRESS [--step ID] [--user U]"
	journeyUsage  = "usage: tact " + journeySyntax
)

// defaultTemplateDirs are used when --templates is not given.
func defaultTemplateDirs() []string {
	var out []string
	for _, d := range []string{"templates", "testdata/templates", "testdata/journeys/templates"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

type journeyFlags struct {
	templates *string
	out       *string
	publicURL *string
	json      *bool
	untilIdle *bool
	interval  *time.Duration
	user      *string
	payload   *string
	ref       *string
}

func cmdJourney(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef(journeyUsage)
	}
	sub := args[0]
	if sub == "preview" || sub == "test-send" {
		return cmdJourneyPreview(ctx, a, sub, args[1:])
	}
	fs := flag.NewFlagSet("journey "+sub, flag.ContinueOnError)
	f := journeyFlags{
		templates: fs.String("templates", "", "comma-separated template directories (default: templates, testdata/templates, testdata/journeys/templates when present)"),
		out:       fs.String("out", "outbox", "folder the file email channel writes .eml files to"),
		publicURL: fs.String("public-url", "", "public origin of unsubscribe and preference links (default channels.links.base_url, server.public_url, http://localhost:8080)"),
		json:      fs.Bool("json", false, "print JSON"),
		untilIdle: fs.Bool("until-idle", false, "run until no work is due, then exit"),
		interval:  fs.Duration("interval", 10*time.Second, "tick interval when running continuously"),
		user:      fs.String("user", "", "user_id, email or phone of the person (trigger)"),
		payload:   fs.String("payload", "", "JSON object available to templates as .payload (trigger)"),
		ref:       fs.String("ref", "", "idempotency reference of the trigger (enters once per ref)"),
	}
	pos, err := a.parse(fs, args[1:])
	if err != nil {
		return err
	}
	need := func(n int) error {
		if len(pos) != n {
			return usagef(journeyUsage)
		}
		return nil
	}
	switch sub {
	case "validate":
		if err := need(1); err != nil {
			return err
		}
		return journeyValidate(ctx, a, f, pos[0])
	case "publish":
		if err := need(1); err != nil {
			return err
		}
		r, _, err := a.journeyRunner(ctx, f, false)
		if err != nil {
			return err
		}
		src, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		v, err := r.Publish(ctx, pos[0], src)
		if err != nil {
			return err
		}
		if *f.json {
			return a.printJSON(v)
		}
		if v.Unchanged {
			fmt.Fprintf(a.stdout, "%s: unchanged, still version %d\n", v.Journey, v.Version)
		} else {
			fmt.Fprintf(a.stdout, "%s: published version %d (%s, %s entry)\n", v.Journey, v.Version, v.Purpose, v.Entry)
		}
		return nil
	case "list":
		if err := need(0); err != nil {
			return err
		}
		r, _, err := a.journeyRunner(ctx, f, false)
		if err != nil {
			return err
		}
		list, err := r.List(ctx)
		if err != nil {
			return err
		}
		if *f.json {
			return a.printJSON(list)
		}
		if len(list) == 0 {
			fmt.Fprintln(a.stdout, "no journeys published")
		}
		for _, j := range list {
			var vs []string
			for _, v := range j.Versions {
				vs = append(vs, fmt.Sprintf("v%d (%d inside)", v.Version, v.Active))
			}
			fmt.Fprintf(a.stdout, "%-24s %-13s %-8s current v%d  %-7s %-9s missed slots %d  versions: %s\n",
				j.Name, j.Purpose, j.Entry, j.CurrentVersion, j.State, j.Health, j.MissedSlots, strings.Join(vs, ", "))
			if j.LastError != "" {
				fmt.Fprintf(a.stdout, "  last error: %s\n", oneLine(j.LastError))
			}
		}
		return nil
	case "pause", "resume":
		if err := need(1); err != nil {
			return err
		}
		r, _, err := a.journeyRunner(ctx, f, false)
		if err != nil {
			return err
		}
		if sub == "pause" {
			err = r.Pause(ctx, pos[0])
		} else {
			err = r.Resume(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s: %sd\n", pos[0], sub)
		return nil
	case "failures":
		if err := need(1); err != nil {
			return err
		}
		r, _, err := a.journeyRunner(ctx, f, false)
		if err != nil {
			return err
		}
		fs, err := r.Failures(ctx, pos[0], time.Time{}, 200)
		if err != nil {
			return err
		}
		if *f.json {
			return a.printJSON(fs)
		}
		for _, c := range journeys.CountByReason(fs) {
			fmt.Fprintf(a.stdout, "%6d  %s\n", c.Count, c.Reason)
		}
		for _, x := range fs {
			fmt.Fprintf(a.stdout, "%s  %s/%s  %s  profile %d  %s\n", x.At.UTC().Format(time.RFC3339), x.Journey, x.Step, x.Channel, x.ProfileID, x.Reason)
		}
		return nil
	case "stats":
		if err := need(1); err != nil {
			return err
		}
		r, _, err := a.journeyRunner(ctx, f, false)
		if err != nil {
			return err
		}
		st, err := r.Stats(ctx, pos[0])
		if err != nil {
			return err
		}
		if *f.json {
			return a.printJSON(st)
		}
		printJourneyStats(a, st)
		return nil
	case "trigger":
		if err := need(1); err != nil {
			return err
		}
		if *f.user == "" {
			return usagef("journey trigger: --user is required")
		}
		r, s, err := a.journeyRunner(ctx, f, false)
		if err != nil {
			return err
		}
		id, err := s.ResolveUser(ctx, *f.user)
		if err != nil {
			return err
		}
		e := journeys.APIEntry{ProfileID: id, Ref: *f.ref}
		if *f.payload != "" {
			if err := json.Unmarshal([]byte(*f.payload), &e.Payload); err != nil {
				return usagef("journey trigger: --payload: %v", err)
			}
		}
		n, err := r.Trigger(ctx, pos[0], []journeys.APIEntry{e})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s: %d entered\n", pos[0], n)
		return nil
	case "run":
		if len(pos) > 1 {
			return usagef(journeyUsage)
		}
		name := ""
		if len(pos) == 1 {
			name = pos[0]
		}
		r, _, err := a.journeyRunner(ctx, f, true)
		if err != nil {
			return err
		}
		if *f.untilIdle {
			start := r.Store().Clock().Now()
			res, err := r.RunUntilIdle(ctx, name)
			if err != nil {
				return err
			}
			if *f.json {
				if err := a.printJSON(res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(a.stdout, "idle: %s\n", res)
				for j, e := range res.Errors {
					fmt.Fprintf(a.stdout, "  %s failed: %s\n", j, oneLine(e))
				}
			}
			if len(res.Errors) > 0 {
				return fmt.Errorf("%d journey(s) failed", len(res.Errors))
			}
			if res.Failed > 0 {
				// Failed sends are visible: counted by reason, and a
				// non-zero exit (tact journey failures NAME lists them).
				fs, err := r.Failures(ctx, name, start, 10000)
				if err != nil {
					return err
				}
				for _, c := range journeys.CountByReason(fs) {
					fmt.Fprintf(a.stderr, "  failed %d: %s\n", c.Count, c.Reason)
				}
				return fmt.Errorf("%d send(s) failed; see tact journey failures", res.Failed)
			}
			return nil
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		defer checkpointWhenQuiet(ctx, r.Store())()
		fmt.Fprintf(a.stderr, "tact: running journeys every %s; interrupt to stop\n", *f.interval)
		return journeys.NewScheduler(r, journeys.SchedulerConfig{Interval: *f.interval, Journey: name, OnTick: func(res journeys.TickResult, err error) {
			if err == nil && (res.Entered+res.Sent+res.Skipped+res.Failed > 0) {
				fmt.Fprintf(a.stdout, "%s %s\n", time.Now().UTC().Format(time.RFC3339), res)
			}
		}}).Run(ctx)
	}
	return usagef("journey: unknown subcommand %q; %s", sub, journeyUsage)
}

// templateDirs are the template folders journeys are checked against and
// sent with: --templates, else tact.yaml's channels.templates.dir, else
// the conventional folders that exist.
func (a *app) templateDirs(f journeyFlags) []string {
	if *f.templates != "" {
		return strings.Split(*f.templates, ",")
	}
	if cfg, err := a.config(); err == nil && cfg.Channels.Templates.Dir != "" {
		return []string{cfg.Channels.Templates.Dir}
	}
	return defaultTemplateDirs()
}

func journeyValidate(ctx context.Context, a *app, f journeyFlags, file string) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	cfg := journeys.ValidateConfig{}
	if dirs := a.templateDirs(f); len(dirs) > 0 {
		set, err := journeys.LoadTemplates(dirs...)
		if err != nil {
			return err
		}
		cfg.Templates = set
	} else {
		fmt.Fprintln(a.stderr, "tact: no templates folder found (give --templates DIR or channels.templates.dir): template names are not checked")
	}
	// With an existing database, expressions are checked against its traits
	// (unknown names, types) by package segments.
	dbPath := a.dbPath
	if dbPath == "" {
		dbPath = a.getenv("TACT_DB")
	}
	if dbPath == "" {
		dbPath = "tact.duckdb"
	}
	if fileExists(dbPath) {
		s, err := a.openStore(ctx)
		if err != nil {
			return err
		}
		cfg.Expressions = journeys.NewSegmentsEvaluator(s)
	}
	spec, err := journeys.Parse(file, src, cfg)
	var ve *journeys.ValidationError
	if errors.As(err, &ve) {
		if *f.json {
			_ = a.printJSON(map[string]any{"valid": false, "problems": ve.Problems})
		} else {
			for _, p := range ve.Problems {
				fmt.Fprintf(a.stdout, "%s:%s\n", file, p)
			}
		}
		return fmt.Errorf("%s: %d problem(s)", file, len(ve.Problems))
	}
	if err != nil {
		return err
	}
	if *f.json {
		return a.printJSON(map[string]any{"valid": true, "journey": spec.Name, "purpose": spec.Purpose, "entry": spec.Entry.Kind, "steps": len(spec.Steps)})
	}
	fmt.Fprintf(a.stdout, "%s: valid (%s, %s entry, %d steps)\n", spec.Name, spec.Purpose, spec.Entry.Kind, len(spec.Steps))
	return nil
}

func printJourneyStats(a *app, st journeys.Stats) {
	fmt.Fprintf(a.stdout, "journey %s: %d entered, %d inside, %d completed, %d converted, %d exited\n",
		st.Journey, st.Entered, st.Active, st.Completed, st.Converted, st.Exited)
	fmt.Fprintf(a.stdout, "  %-18s %-7s %8s %8s %6s %6s %6s %6s %6s  %s\n", "step", "kind", "entered", "waiting", "sent", "failed", "conv", "exited", "done", "skipped/held by reason")
	for _, s := range st.Steps {
		var reasons []string
		for r, n := range s.Skipped {
			reasons = append(reasons, fmt.Sprintf("skipped %s=%d", r, n))
		}
		for r, n := range s.Held {
			reasons = append(reasons, fmt.Sprintf("held %s=%d", r, n))
		}
		if s.Pending > 0 {
			reasons = append(reasons, fmt.Sprintf("pending=%d", s.Pending))
		}
		sort.Strings(reasons)
		fmt.Fprintf(a.stdout, "  %-18s %-7s %8d %8d %6d %6d %6d %6d %6d  %s\n", s.Step, s.Kind, s.Entered, s.Waiting, s.Sent, s.Failed, s.Converted, s.Exited, s.Completed, strings.Join(reasons, ", "))
	}
}
