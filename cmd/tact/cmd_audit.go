package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/tactcdp/tact/engine"
)

func auditCommands(m map[string]command) {
	m["audit"] = command{"audit verify | log [--after SEQ] [--limit N]", cmdAudit}
}

func cmdAudit(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("usage: tact %s", commands()["audit"].usage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("audit "+sub, flag.ContinueOnError)
	after := fs.Int64("after", 0, "log: entries after this sequence number")
	limit := fs.Int("limit", 0, "log: at most N entries (0: all)")
	pos, err := a.parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("audit %s: unexpected argument %q", sub, pos[0])
	}
	if sub != "verify" && sub != "log" {
		return usagef("audit: unknown subcommand %q (want verify or log)", sub)
	}
	s, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	if sub == "log" {
		entries, err := s.AuditLog(ctx, *after, *limit)
		if err != nil {
			return err
		}
		if entries == nil {
			entries = []engine.AuditEntry{}
		}
		return a.printJSON(entries)
	}
	rep, err := s.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit verify failed: %w", err)
	}
	if rep.Entries == 0 {
		fmt.Fprintln(a.stdout, "audit log verified: empty")
		return nil
	}
	fmt.Fprintf(a.stdout, "audit log verified: %d entries, head %s\n", rep.Entries, rep.Head)
	return nil
}
