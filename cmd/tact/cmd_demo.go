package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/engine/sample"
)

// cmdDemo builds a database from the built-in sample (the generator's
// default output, identical to testdata/sample) and shows what it holds.
// It uses an in-memory database unless --db is given, writes its outbox to
// a temporary folder unless --out is given, and evaluates at the sample's
// reference instant unless --now is given.
func cmdDemo(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	out := fs.String("out", "", "keep the journey's .eml files in DIR (default: a temporary folder, removed)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("usage: tact %s", commands()["demo"].usage)
	}
	if a.nowFlag == "" && a.getenv("TACT_NOW") == "" {
		a.clk = clock.Fixed(sampleNow())
	}
	if a.configPath == "" && a.getenv("TACT_CONFIG") == "" {
		cfg, err := parseConfig("demo configuration", []byte(demoConfig))
		if err != nil {
			return err
		}
		a.cfg = cfg
	}
	dir, err := os.MkdirTemp("", "tact-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	manifest, err := sample.Write(dir, sample.Options{})
	if err != nil {
		return err
	}
	files := demoOrder(manifest.Files)
	path := engine.MemoryPath
	if a.dbExplicit {
		path = a.dbPath
	}
	s, err := a.openStoreAt(ctx, path)
	if err != nil {
		return err
	}
	now := s.Clock().Now()
	fmt.Fprintf(a.stdout, "Tact demo: importing the sample (%d files) at %s\n", len(files), now.Format("2006-01-02T15:04:05Z"))
	fmt.Fprintln(a.stdout, "The website's identify calls come last, so anonymous visitors' profiles merge into customers.")
	fmt.Fprintln(a.stdout)
	importAll := func() error {
		for _, f := range files {
			res, err := s.Import(ctx, engine.ImportKind(f.Kind), filepath.Join(dir, f.Name))
			if err != nil {
				return err
			}
			res.File = f.Name
			printImport(a, res)
		}
		return nil
	}
	if err := importAll(); err != nil {
		return err
	}
	counts, err := s.Counts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nThe store holds %d profiles (%d identities, %d traits), %d events, %d merges, %d refused links, %d consent entries.\n",
		counts.Profiles, counts.Identities, counts.Traits, counts.Events, counts.Merges, counts.RefusedLinks, counts.ConsentEntries)

	fmt.Fprintln(a.stdout, "\nImporting the same files again:")
	if err := importAll(); err != nil {
		return err
	}
	again, err := s.Counts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "counts unchanged: %v\n", again == counts)

	fmt.Fprintln(a.stdout, "\nPeople who may be contacted now, by purpose and channel (consent granted, not expired, current notice):")
	for _, purpose := range []string{"marketing", "personalisation", "analytics"} {
		for _, ch := range []string{"email", "sms", "push"} {
			n, err := grantedCount(ctx, s, purpose, ch)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "  %-16s %-6s %5d\n", purpose, ch, n)
		}
	}
	if err := demoExtras(ctx, a, s); err != nil {
		return err
	}
	if err := journeyDemo(ctx, a, s, *out); err != nil {
		return err
	}
	printDemoNext(a, *out)
	return nil
}

// printDemoNext says what the reader can open now, or how to keep it.
func printDemoNext(a *app, out string) {
	fmt.Fprintln(a.stdout)
	if !a.dbExplicit {
		fmt.Fprintln(a.stdout, "The database lived in memory and the outbox in a temporary folder: both are gone. To keep them and look inside:")
		fmt.Fprintln(a.stdout, "  tact --db demo.duckdb demo --out demo-outbox")
		return
	}
	fmt.Fprintf(a.stdout, "The database is in %s. Look inside:\n", a.dbPath)
	fmt.Fprintf(a.stdout, "  tact --db %s --now 2026-11-01T00:00:00Z segment count 'plan == \"pro\"' --purpose marketing --channel email\n", a.dbPath)
	fmt.Fprintf(a.stdout, "  tact --db %s journey stats demo-welcome\n", a.dbPath)
	if out != "" {
		fmt.Fprintf(a.stdout, "The messages are in %s (open a .eml file in a mail client). Their unsubscribe and preference links\n", out)
		fmt.Fprintf(a.stdout, "open against `tact --db %s serve` at %s.\n", a.dbPath, defaultPublicURL)
	}
}

// demoConfig is the demo's embedded configuration: the sample's notice
// versions, with personalisation's v2 notice requiring re-consent.
const demoConfig = `
default_region: TH
purposes:
  - name: marketing
    versions: [{version: "2025-01"}, {version: "2026-06"}]
  - name: personalisation
    versions: [{version: v1}, {version: v2, requires_reconsent: true}]
`

// demoOrder imports profile files that only link identities after the
// events, so the demo shows anonymous activity merging into known people.
func demoOrder(files []sample.File) []sample.File {
	var first, identify, last []sample.File
	for _, f := range files {
		switch {
		case f.Name == sample.FileWebIdentify:
			identify = append(identify, f)
		case f.Kind == "consents":
			last = append(last, f)
		default:
			first = append(first, f)
		}
	}
	return append(append(first, identify...), last...)
}

// grantedCount counts the profiles whose consent is granted for purpose on
// channel at the store's now, set-based.
func grantedCount(ctx context.Context, s *engine.Store, purpose, channel string) (int, error) {
	q, args, err := s.ConsentGrantSQL(ctx, purpose, channel, s.Clock().Now())
	if err != nil {
		return 0, err
	}
	var n int
	err = s.DB().QueryRowContext(ctx, "SELECT count(*) FROM ("+q+") WHERE granted", args...).Scan(&n)
	return n, err
}

// demoExtras shows one merged profile as `tact profile show` would.
func demoExtras(ctx context.Context, a *app, s *engine.Store) error {
	merges, err := s.Merges(ctx, 0)
	if err != nil {
		return err
	}
	for _, m := range merges {
		if m.Action != "merge" {
			continue
		}
		doc, err := buildProfileDoc(ctx, s, m.ProfileID, s.Clock().Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "\nA merged profile (id %d): %d identities from %d sources, %d traits, latest event %q.\n",
			doc.ID, len(doc.Identities), countSources(doc.Identities), len(doc.Traits), latestEvent(doc))
		fmt.Fprintf(a.stdout, "Inspect any person with: tact --db PATH profile show --user <user_id|email|phone|#id>, e.g. --user '#%d'\n", doc.ID)
		break
	}
	return nil
}

func countSources(ids []engine.Identity) int {
	seen := map[string]bool{}
	for _, i := range ids {
		f := i.Source
		if j := lastColon(f); j > 0 {
			f = f[:j]
		}
		seen[f] = true
	}
	return len(seen)
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}

func latestEvent(d profileDoc) string {
	if len(d.Events) == 0 {
		return ""
	}
	return d.Events[0].Event
}
