package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tactcdp/tact/engine"
)

func privacyCommands(m map[string]command) {
	m["privacy"] = command{"privacy export|erase|restrict|unrestrict|object|unobject --user U [--request ID] | " +
		"rectify --user U --set k=v... | request KIND --user U [--received RFC3339] | requests [--all|--overdue] [--json] | " +
		"purge [--event NAME=DUR]... [--trait NAME=DUR]... [--compact] | compact " +
		"(erase and compaction show the file rewrite's progress on a terminal unless --quiet)", cmdPrivacy}
}

// kvFlag collects repeated NAME=VALUE flags.
type kvFlag struct {
	keys []string
	vals map[string]string
}

func (f *kvFlag) String() string { return strings.Join(f.keys, ",") }

func (f *kvFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", k)
	}
	if f.vals == nil {
		f.vals = map[string]string{}
	}
	if _, dup := f.vals[k]; dup {
		return fmt.Errorf("%s given twice", k)
	}
	f.keys = append(f.keys, k)
	f.vals[k] = val
	return nil
}

func cmdPrivacy(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("usage: tact %s", commands()["privacy"].usage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("privacy "+sub, flag.ContinueOnError)
	user := fs.String("user", "", "user_id, email, phone, anonymous id or device token")
	reqID := fs.Int64("request", 0, "the open request this fulfils")
	actor := fs.String("actor", "operator", "who carries out the operation (audit log)")
	out := fs.String("out", "", "export: write the document to FILE (mode 0600)")
	noCompact := fs.Bool("no-compact", false, "erase: skip rewriting the database file")
	received := fs.String("received", "", "request: when it was received, RFC 3339 (default now)")
	all := fs.Bool("all", false, "requests: include completed ones")
	overdue := fs.Bool("overdue", false, "requests: only open requests past due")
	jsonOut := fs.Bool("json", false, "print JSON")
	compact := fs.Bool("compact", false, "purge: rewrite the database file afterwards")
	quiet := fs.Bool("quiet", false, "erase, purge, compact: no progress on standard error")
	var set, events, traits kvFlag
	fs.Var(&set, "set", "rectify: TRAIT=VALUE (repeatable; empty VALUE clears)")
	fs.Var(&events, "event", "purge: EVENT=DURATION (repeatable; * for every other event)")
	fs.Var(&traits, "trait", "purge: TRAIT=DURATION (repeatable)")
	pos, err := a.parse(fs, args[1:])
	if err != nil {
		return err
	}
	needUser := func() error {
		if *user == "" {
			return usagef("privacy %s: --user is required", sub)
		}
		return nil
	}
	noArgs := func() error {
		if len(pos) > 0 {
			return usagef("privacy %s: unexpected argument %q", sub, pos[0])
		}
		return nil
	}
	opts := engine.PrivacyOptions{Actor: *actor, RequestID: *reqID}

	switch sub {
	case "export", "erase", "restrict", "unrestrict", "object", "unobject", "rectify":
		if err := needUser(); err != nil {
			return err
		}
		if err := noArgs(); err != nil {
			return err
		}
		if sub == "rectify" && len(set.keys) == 0 {
			return usagef("privacy rectify: give at least one --set TRAIT=VALUE")
		}
	case "request":
		if err := needUser(); err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: tact privacy request KIND --user U [--received RFC3339] (KIND: %s)", requestKinds())
		}
	case "requests", "purge", "compact":
		if err := noArgs(); err != nil {
			return err
		}
	default:
		return usagef("privacy: unknown subcommand %q (want export, erase, restrict, unrestrict, object, unobject, rectify, request, requests, purge or compact)", sub)
	}

	var retention engine.RetentionPolicy
	if sub == "purge" {
		if retention, err = a.retentionPolicy(events, traits); err != nil {
			return err
		}
	}
	var receivedAt time.Time
	if *received != "" {
		if receivedAt, err = time.Parse(time.RFC3339, *received); err != nil {
			return usagef("--received: %q is not an RFC 3339 time", *received)
		}
	}

	s, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	switch sub {
	case "export":
		doc, err := s.ExportPersonalData(ctx, *user, opts)
		if err != nil {
			return err
		}
		if *out == "" {
			return a.printJSON(doc)
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, append(b, '\n'), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "request %d: exported to %s\n", doc.RequestID, *out)
		return nil
	case "erase":
		bar := newProgress(a.stderr, "rewriting the database file", *quiet, time.Now)
		res, err := s.Erase(ctx, *user, engine.EraseOptions{PrivacyOptions: opts, NoCompact: *noCompact, Progress: bar.onCompact()})
		bar.finish()
		if err != nil {
			return err
		}
		if *jsonOut {
			return a.printJSON(res)
		}
		var rows, tables int64
		for _, n := range res.Deleted {
			rows += n
			if n > 0 {
				tables++
			}
		}
		fmt.Fprintf(a.stdout, "request %d: erased (%d rows deleted from %d tables, %d suppressions kept, %d consent tombstones kept, file rewritten: %t)\n",
			res.Request.ID, rows, tables, res.SuppressionsAdded, res.Tombstones, res.Compacted)
		return nil
	case "restrict", "unrestrict", "object", "unobject":
		op := map[string]func(context.Context, string, engine.PrivacyOptions) (engine.Request, error){
			"restrict": s.Restrict, "unrestrict": s.Unrestrict, "object": s.Object, "unobject": s.Unobject,
		}[sub]
		req, err := op(ctx, *user, opts)
		if err != nil {
			return err
		}
		if *jsonOut {
			return a.printJSON(req)
		}
		fmt.Fprintf(a.stdout, "request %d: %s\n", req.ID, req.Outcome)
		return nil
	case "rectify":
		res, err := s.Rectify(ctx, *user, set.vals, opts)
		if err != nil {
			return err
		}
		if *jsonOut {
			return a.printJSON(res)
		}
		fmt.Fprintf(a.stdout, "request %d: rectified %s\n", res.Request.ID, strings.Join(res.Changed, ", "))
		return nil
	case "request":
		req, err := s.OpenRequest(ctx, engine.RequestKind(pos[0]), *user, receivedAt, *actor)
		if err != nil {
			return err
		}
		if *jsonOut {
			return a.printJSON(req)
		}
		fmt.Fprintf(a.stdout, "request %d: %s, received %s, due %s\n", req.ID, req.Kind, req.ReceivedAt.Format(time.RFC3339), req.DueAt.Format(time.RFC3339))
		return nil
	case "requests":
		reqs, err := s.Requests(ctx, engine.RequestFilter{All: *all, OverdueOnly: *overdue})
		if err != nil {
			return err
		}
		if *jsonOut {
			return a.printJSON(reqs)
		}
		return printRequests(a, reqs)
	case "purge":
		bar := newProgress(a.stderr, "rewriting the database file", *quiet, time.Now)
		res, err := s.Purge(ctx, retention, engine.PurgeOptions{Actor: *actor, Compact: *compact, Progress: bar.onCompact()})
		bar.finish()
		if err != nil {
			return err
		}
		return a.printJSON(res)
	case "compact":
		bar := newProgress(a.stderr, "rewriting the database file", *quiet, time.Now)
		err := s.Compact(ctx, engine.WithCompactProgress(bar.onCompact()))
		bar.finish()
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, "database file rewritten")
		return nil
	}
	return nil
}

func requestKinds() string {
	var ks []string
	for _, k := range engine.RequestKinds() {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, ", ")
}

func printRequests(a *app, reqs []engine.Request) error {
	if len(reqs) == 0 {
		fmt.Fprintln(a.stdout, "no requests")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tPROFILE\tRECEIVED\tDUE\tSTATUS\tOUTCOME")
	for _, r := range reqs {
		status := r.Status
		if r.Overdue {
			status = "OVERDUE"
		}
		profile := "-"
		if r.ProfileID != 0 {
			profile = strconv.FormatInt(r.ProfileID, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, profile, r.ReceivedAt.Format(time.RFC3339),
			r.DueAt.Format(time.RFC3339), status, r.Outcome)
	}
	return tw.Flush()
}

// retentionPolicy is the config's retention section, overridden per name
// by --event and --trait flags.
func (a *app) retentionPolicy(events, traits kvFlag) (engine.RetentionPolicy, error) {
	cfg, err := a.config()
	if err != nil {
		return engine.RetentionPolicy{}, err
	}
	// Copy the maps so flags do not write into the configuration.
	p := engine.RetentionPolicy{Events: maps.Clone(cfg.Retention.Events), Traits: maps.Clone(cfg.Retention.Traits)}
	merge := func(dst *map[string]engine.Duration, f kvFlag, what string) error {
		for _, k := range f.keys {
			d, err := engine.ParseDuration(f.vals[k])
			if err != nil {
				return usagef("--%s %s: %v", what, k, err)
			}
			if *dst == nil {
				*dst = map[string]engine.Duration{}
			}
			(*dst)[k] = d
		}
		return nil
	}
	if err := merge(&p.Events, events, "event"); err != nil {
		return p, err
	}
	if err := merge(&p.Traits, traits, "trait"); err != nil {
		return p, err
	}
	if p.Empty() {
		return p, usagef("privacy purge: no retention periods (configure retention: in tact.yaml, or give --event NAME=DUR / --trait NAME=DUR)")
	}
	return p, nil
}
