package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/sample"
)

func engineCommands(m map[string]command) {
	m["import"] = command{"import [--quiet] profiles|events|consents FILE...", cmdImport}
	m["consent"] = command{"consent set --user U [--purpose P --channel C] --status S [--version V] [--expires RFC3339] | show --user U (no purpose or channel: a withdraw-all, withdrawn or denied only)", cmdConsent}
	m["profile"] = command{"profile show --user U", cmdProfile}
	m["gen"] = command{"gen --out DIR [--profiles N] [--seed S] [--events-per-profile N] [--quiet]", cmdGen}
	m["demo"] = command{"demo [--out DIR]", cmdDemo}
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmdImport(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print results as JSON")
	quiet := fs.Bool("quiet", false, "no progress on standard error")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("usage: tact import profiles|events|consents FILE...")
	}
	kind := engine.ImportKind(pos[0])
	switch kind {
	case engine.ImportProfiles, engine.ImportEvents, engine.ImportConsents:
	default:
		return usagef("import: unknown kind %q (want profiles, events or consents)", pos[0])
	}
	s, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	var results []engine.ImportResult
	for _, f := range pos[1:] {
		bar := newProgress(a.stderr, filepath.Base(f), *quiet, time.Now)
		res, err := s.Import(ctx, kind, f, engine.WithProgress(bar.importStep))
		bar.finish()
		if err != nil {
			return err
		}
		results = append(results, res)
		if !*jsonOut {
			printImport(a, res)
		}
	}
	if *jsonOut {
		return a.printJSON(results)
	}
	return nil
}

func printImport(a *app, r engine.ImportResult) {
	fmt.Fprintf(a.stdout, "%s: %d rows, %d profiles created, %d updated, %d merged, %d links refused, %d identities added",
		r.File, r.Rows, r.ProfilesCreated, r.ProfilesUpdated, r.ProfilesMerged, r.LinksRefused, r.IdentitiesAdded)
	switch r.Kind {
	case engine.ImportEvents:
		fmt.Fprintf(a.stdout, ", %d events added, %d duplicates", r.EventsAdded, r.EventsDuplicate)
		for _, reason := range []string{engine.DropRestricted, engine.DropObjected, engine.DropAnalyticsWithdrawn} {
			if n := r.EventsDropped[reason]; n > 0 {
				fmt.Fprintf(a.stdout, ", %d not stored (%s)", n, reason)
			}
		}
	case engine.ImportConsents:
		fmt.Fprintf(a.stdout, ", %d consent entries added, %d duplicates", r.ConsentsAdded, r.ConsentsDuplicate)
	}
	for _, t := range r.TraitsAdded {
		fmt.Fprintf(a.stdout, ", new trait %s %s", t.Name, t.Type)
	}
	fmt.Fprintln(a.stdout)
}

func cmdConsent(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("usage: tact %s", commands()["consent"].usage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("consent "+sub, flag.ContinueOnError)
	user := fs.String("user", "", "user_id, email, phone or anonymous id")
	purpose := fs.String("purpose", "", "purpose or *; omit with --channel for a withdraw-all (withdrawn or denied)")
	channel := fs.String("channel", "", "email, sms, push, webhook or *")
	status := fs.String("status", "", "granted, denied or withdrawn")
	version := fs.String("version", "", "notice version")
	expires := fs.String("expires", "", "expiry, RFC 3339")
	source := fs.String("source", "cli", "where the change came from")
	pos, err := a.parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("consent %s: unexpected argument %q", sub, pos[0])
	}
	if *user == "" {
		return usagef("consent %s: --user is required", sub)
	}
	s, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	id, err := s.ResolveUser(ctx, *user)
	if err != nil {
		return err
	}
	now := s.Clock().Now()
	switch sub {
	case "set":
		in := engine.ConsentInput{ProfileID: id, Purpose: *purpose, Channel: *channel, Status: consent.Status(*status),
			NoticeVersion: *version, Source: *source, Actor: "operator"}
		if *expires != "" {
			t, err := time.Parse(time.RFC3339, *expires)
			if err != nil {
				return usagef("--expires: %q is not an RFC 3339 time", *expires)
			}
			in.ExpiresAt = t
		}
		if err := s.RecordConsent(ctx, in); err != nil {
			return err
		}
		// Decide at an instant no earlier than the entry just recorded (it
		// takes effect when recorded): under the real clock `now` above is
		// already in the past.
		d, err := s.EvaluateConsent(ctx, id, orDefault(*purpose, "marketing"), orDefault(*channel, "email"), s.Clock().Now())
		if err != nil {
			return err
		}
		if *purpose == "" || *channel == "" {
			fmt.Fprintln(a.stdout, "recorded as a withdraw-all (*/*): every purpose but transactional, on every channel")
		} else if *purpose != consent.Wildcard && *channel != consent.Wildcard {
			fmt.Fprintf(a.stdout, "recorded; %s on %s is now %s (%s)\n", *purpose, *channel, grantWord(d.Granted), d.Reason)
		} else {
			fmt.Fprintln(a.stdout, "recorded")
		}
		return nil
	case "show":
		states, err := s.ConsentStates(ctx, id, now)
		if err != nil {
			return err
		}
		ledger, err := s.ConsentLedger(ctx, id)
		if err != nil {
			return err
		}
		if err := s.RecordAccess(ctx, engine.DataAccess{Actor: "operator", What: "consent show", ProfileID: id, Rows: int64(len(ledger))}); err != nil {
			return err
		}
		return a.printJSON(map[string]any{"profile_id": id, "at": now, "states": states, "ledger": ledger})
	}
	return usagef("consent: unknown subcommand %q (want set or show)", sub)
}

func orDefault(v, d string) string {
	if v == "" || v == consent.Wildcard {
		return d
	}
	return v
}

func grantWord(g bool) string {
	if g {
		return "granted"
	}
	return "not granted"
}

// profileDoc is what `tact profile show` prints.
type profileDoc struct {
	engine.Profile
	Identities []engine.Identity      `json:"identities"`
	Consent    map[string]consentCell `json:"consent"`
	Events     []engine.Event         `json:"latest_events"`
	Merges     []engine.MergeRecord   `json:"merges"`
}

type consentCell struct {
	Granted bool           `json:"granted"`
	Reason  consent.Reason `json:"reason"`
}

func buildProfileDoc(ctx context.Context, s *engine.Store, id int64, at time.Time) (profileDoc, error) {
	p, err := s.Profile(ctx, id)
	if err != nil {
		return profileDoc{}, err
	}
	doc := profileDoc{Profile: p, Consent: map[string]consentCell{}}
	if doc.Identities, err = s.Identities(ctx, id); err != nil {
		return doc, err
	}
	states, err := s.ConsentStates(ctx, id, at)
	if err != nil {
		return doc, err
	}
	for _, st := range states {
		doc.Consent[st.Purpose+"/"+st.Channel] = consentCell{st.Granted, st.Reason}
	}
	if doc.Events, err = s.Events(ctx, id, 10); err != nil {
		return doc, err
	}
	doc.Merges, err = s.Merges(ctx, id)
	return doc, err
}

func cmdProfile(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || args[0] != "show" {
		return usagef("usage: tact profile show --user U")
	}
	fs := flag.NewFlagSet("profile show", flag.ContinueOnError)
	user := fs.String("user", "", "user_id, email, phone or anonymous id")
	if _, err := a.parse(fs, args[1:]); err != nil {
		return err
	}
	if *user == "" {
		return usagef("profile show: --user is required")
	}
	s, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	id, err := s.ResolveUser(ctx, *user)
	if err != nil {
		return err
	}
	doc, err := buildProfileDoc(ctx, s, id, s.Clock().Now())
	if err != nil {
		return err
	}
	if err := s.RecordAccess(ctx, engine.DataAccess{Actor: "operator", What: "profile show", ProfileID: id, Rows: 1}); err != nil {
		return err
	}
	return a.printJSON(doc)
}

func cmdGen(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	out := fs.String("out", "", "output folder")
	profiles := fs.Int("profiles", 1000, "number of people")
	seed := fs.Uint64("seed", 1, "random seed")
	epp := fs.Int("events-per-profile", 10, "average events per person")
	quiet := fs.Bool("quiet", false, "no progress on standard error")
	if _, err := a.parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("gen: --out is required")
	}
	if *profiles < 1 {
		return usagef("gen: --profiles must be at least 1")
	}
	opts := sample.Options{Profiles: *profiles, Seed: *seed, EventsPerProfile: *epp}
	if a.nowFlag != "" || a.getenv("TACT_NOW") != "" {
		clk, err := a.clock()
		if err != nil {
			return err
		}
		opts.Now = clk.Now()
	}
	bar := newProgress(a.stderr, "gen", *quiet, time.Now)
	if bar != nil {
		opts.Progress = func(done, total int) { bar.count(int64(done), int64(total), "people") }
	}
	m, err := sample.Write(*out, opts)
	bar.finish()
	if err != nil {
		return err
	}
	for _, f := range m.Files {
		fmt.Fprintf(a.stdout, "%s\t%s\t%d rows\n", f.Name, f.Kind, f.Rows)
	}
	return nil
}

// sampleNow is the sample data's reference instant: the demo evaluates
// consent and time windows there unless --now says otherwise.
func sampleNow() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) }
