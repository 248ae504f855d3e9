package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/segments"
)

func segmentCommands(m map[string]command) {
	m["segment"] = command{"segment check EXPR [--json] | count EXPR [--purpose P --channel C] [--json] | " +
		"members EXPR [--purpose P --channel C | --all-fields] [--traits a,b] [--all-traits] [--format csv|jsonl|parquet|arrow] [--out FILE] | " +
		"save NAME EXPR | list [--json] | refresh NAME | changes NAME [--computation N] | recheck NAME --user U", cmdSegment}
	m["bench"] = command{benchUsage, cmdBench}
}

func cmdSegment(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("usage: tact %s", commands()["segment"].usage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("segment "+sub, flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print JSON")
	purpose := fs.String("purpose", "", "consent purpose of the audience")
	channel := fs.String("channel", "", "channel of the audience: email, sms, push or webhook")
	format := fs.String("format", "csv", "members format: csv, jsonl, parquet or arrow")
	out := fs.String("out", "", "write members to FILE instead of standard output")
	allFields := fs.Bool("all-fields", false, "members without --purpose: include user_id, email, phone and timezone (the operator's explicit choice; audited)")
	traits := fs.String("traits", "", "members: add these trait columns (comma-separated; email, phone, user_id or timezone too), typed as stored; audited")
	allTraits := fs.Bool("all-traits", false, "members: add every trait column")
	user := fs.String("user", "", "user_id, email, phone or anonymous id")
	computation := fs.Int64("computation", 0, "computation number (default: the latest)")
	globalsOn(fs, a)
	pos, err := a.parse(fs, args[1:])
	if err != nil {
		return err
	}
	want := func(n int, what string) error {
		if len(pos) != n {
			return usagef("segment %s: want %s", sub, what)
		}
		return nil
	}
	switch sub {
	case "check", "count", "members":
		if err := want(1, "one expression (quote it)"); err != nil {
			return err
		}
	case "save":
		if err := want(2, "NAME EXPR"); err != nil {
			return err
		}
	case "list":
		if err := want(0, "no arguments"); err != nil {
			return err
		}
	case "refresh", "changes", "recheck":
		if err := want(1, "NAME"); err != nil {
			return err
		}
	default:
		return usagef("segment: unknown subcommand %q (want check, count, members, save, list, refresh, changes or recheck)", sub)
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	compile := func(src string) (*segments.Segment, error) {
		sc, err := segments.SchemaFromStore(ctx, st)
		if err != nil {
			return nil, err
		}
		seg, err := segments.Compile(src, sc)
		if err != nil {
			var ce *segments.Error
			if errors.As(err, &ce) {
				// An empty database knows no traits: say so instead of
				// "unknown name plan".
				if c, cerr := st.Counts(ctx); cerr == nil && c.Profiles == 0 {
					return nil, fmt.Errorf("expression %s (the database %s holds no profiles yet: import some with tact import profiles FILE, or choose another --db)",
						oneLine(ce.Error()), st.Path())
				}
				return nil, fmt.Errorf("expression %s", oneLine(ce.Error()))
			}
			return nil, err
		}
		return seg, nil
	}
	audience := func() (*segments.Audience, error) {
		seg, err := compile(pos[0])
		if err != nil {
			return nil, err
		}
		aud, err := segments.NewAudience(st, seg, *purpose, *channel)
		if err != nil {
			return nil, usagef("segment %s: %v", sub, err)
		}
		return aud, nil
	}
	switch sub {
	case "check":
		seg, err := compile(pos[0])
		if err != nil {
			return err
		}
		doc := map[string]any{"path": seg.Path(), "sql": seg.SQL(), "reasons": nonNilStrings(seg.Reasons())}
		if *jsonOut {
			return a.printJSON(doc)
		}
		fmt.Fprintf(a.stdout, "path: %s\n", seg.Path())
		switch seg.Path() {
		case segments.PathSQL:
			fmt.Fprintln(a.stdout, "why: the whole expression compiles to one DuckDB query")
		case segments.PathHybrid:
			fmt.Fprintln(a.stdout, "why: the compiled conjuncts select candidates in DuckDB; the VM evaluates the whole expression over them, because:")
		case segments.PathVM:
			fmt.Fprintln(a.stdout, "why: nothing compiles to SQL; the VM evaluates every profile, because:")
		}
		for _, r := range seg.Reasons() {
			fmt.Fprintf(a.stdout, "  - %s\n", r)
		}
		fmt.Fprintf(a.stdout, "sql: SELECT p.id %s\n", seg.SQL())
		return nil
	case "count":
		aud, err := audience()
		if err != nil {
			return err
		}
		c, err := aud.Count(ctx, st)
		if err != nil {
			return err
		}
		if *jsonOut {
			doc := map[string]any{"count": c.Count, "segment": c.Segment, "path": c.Path}
			if *purpose != "" {
				doc["removed"] = c.Removed
				doc["removal_order"] = segments.RemovalOrder()
				doc["purpose"], doc["channel"] = *purpose, *channel
			} else {
				doc["removed"] = map[string]int64{"restricted": c.Removed.Restricted}
			}
			return a.printJSON(doc)
		}
		fmt.Fprintln(a.stdout, c.Count)
		return nil
	case "members":
		aud, err := audience()
		if err != nil {
			return err
		}
		if !contains(segments.Formats, *format) {
			return usagef("segment members: --format %q (want %s)", *format, strings.Join(segments.Formats, ", "))
		}
		// Without a purpose the list is not consent-filtered, so it carries
		// profile ids only unless the operator asks for contact fields.
		export := segments.MemberExport{IDsOnly: *purpose == "" && !*allFields}
		export.Traits, err = segments.MemberTraits(ctx, st, segments.SplitTraits(*traits), *allTraits)
		if err != nil {
			var te *segments.TraitError
			if errors.As(err, &te) {
				return usagef("segment members: --traits: %v", te)
			}
			return err
		}
		var w io.Writer = a.stdout
		var f *os.File
		if *out != "" {
			f, err = os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600) // personal data
			if err != nil {
				return err
			}
			w = f
		}
		fields := "contact"
		if export.IDsOnly {
			fields = "profile_id"
		}
		n, err := segments.WriteMemberExport(ctx, st, aud, *format, w, export)
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(*out)
			}
		}
		if err != nil {
			return err
		}
		if err := st.RecordAccess(ctx, engine.DataAccess{Actor: "operator", What: "segment members", Expr: pos[0],
			Purpose: *purpose, Channel: *channel, Format: *format, Fields: fields, Traits: export.Added(), Rows: n}); err != nil {
			return err
		}
		if *out != "" {
			fmt.Fprintf(a.stderr, "%d members written to %s\n", n, *out)
		}
		return nil
	case "save":
		d, err := segments.Save(ctx, st, pos[0], pos[1])
		if err != nil {
			var ce *segments.Error
			if errors.As(err, &ce) {
				return fmt.Errorf("expression %s", oneLine(ce.Error()))
			}
			return err
		}
		return a.printJSON(d)
	case "list":
		l, err := segments.List(ctx, st)
		if err != nil {
			return err
		}
		if *jsonOut {
			return a.printJSON(l)
		}
		for _, s := range l {
			fmt.Fprintf(a.stdout, "%s\t%d members\t%s\n", s.Name, s.Members, s.Expression)
		}
		return nil
	case "refresh":
		d, err := segments.Refresh(ctx, st, pos[0])
		if err != nil {
			return err
		}
		return a.printJSON(d)
	case "changes":
		c, err := segments.Changes(ctx, st, pos[0], *computation)
		if err != nil {
			return err
		}
		return a.printJSON(c)
	case "recheck":
		if *user == "" {
			return usagef("segment recheck: --user is required")
		}
		id, err := st.ResolveUser(ctx, *user)
		if err != nil {
			return err
		}
		change, err := segments.Recheck(ctx, st, pos[0], id)
		if err != nil {
			return err
		}
		return a.printJSON(map[string]any{"segment": pos[0], "profile_id": id, "change": change})
	}
	return nil
}

// globalsOn lets the global flags follow a command's own flags (the flag
// package stops at none of them once it parses the command's flags).
func globalsOn(fs *flag.FlagSet, a *app) {
	fs.StringVar(&a.nowFlag, "now", a.nowFlag, "evaluation instant, RFC 3339")
	fs.StringVar(&a.configPath, "config", a.configPath, "configuration file")
	fs.Func("db", "database path", func(v string) error {
		a.dbPath, a.dbExplicit = v, true
		return nil
	})
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
