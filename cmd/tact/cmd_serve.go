package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/tactcdp/tact/channels/email"
	"github.com/tactcdp/tact/journeys"
	"github.com/tactcdp/tact/journeys/bridge"
	"github.com/tactcdp/tact/server"
)

func serveCommands(m map[string]command) {
	m["serve"] = command{"serve [--role all|ingest|engine|sender|nats] [--addr :8080] [--public-url URL] [--templates DIRS] [--out DIR]", cmdServe}
}

func cmdServe(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "", "listen address (default server.addr or :8080)")
	role := fs.String("role", roleAll, "all (one process, no NATS), or a cluster role: ingest, engine, sender, nats (docs/scale-out.md)")
	publicURL := fs.String("public-url", "", "public origin of links and webhooks (default server.public_url)")
	jf := journeyFlags{
		templates: fs.String("templates", "", "comma-separated template directories (default: templates, testdata/templates, testdata/journeys/templates when present)"),
		out:       fs.String("out", "tact-outbox", "folder the file email channel writes .eml files to"),
	}
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("usage: tact serve [--role all|ingest|engine|sender|nats] [--addr :8080] [--public-url URL] [--templates DIRS] [--out DIR]")
	}
	if err := checkRole(*role); err != nil {
		return err
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	sc := cfg.Server
	if *addr != "" {
		sc.Addr = *addr
	}
	if *publicURL != "" {
		sc.PublicURL = *publicURL
	}
	if sc.Addr == "" {
		sc.Addr = ":8080"
	}
	// Quick starts without a config file: credentials from the environment.
	// A configuration that already names the variable (env:TACT_ADMIN_TOKEN)
	// or its value is not given it twice.
	if k := a.getenv("TACT_WRITE_KEY"); k != "" && !slices.ContainsFunc(sc.WriteKeys, func(w server.WriteKey) bool { return a.resolve(w.Key) == k }) {
		sc.WriteKeys = append(sc.WriteKeys, server.WriteKey{Key: k, Trust: server.TrustClient})
	}
	if k := a.getenv("TACT_ADMIN_TOKEN"); k != "" && !slices.ContainsFunc(sc.Tokens, func(t server.TokenConfig) bool { return a.resolve(t.Token) == k }) {
		sc.Tokens = append(sc.Tokens, server.TokenConfig{Name: "env-admin", Role: server.RoleAdmin, Token: k})
	}
	jf.publicURL = &sc.PublicURL
	if err := sc.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	switch *role {
	case roleNATS:
		return a.serveNATS(ctx, sc.Addr)
	case roleIngest:
		return a.serveIngest(ctx, sc)
	case roleSender:
		return a.serveSender(ctx, sc.Addr)
	}
	var sends *engineSends
	if *role == roleEngine {
		if sends, err = a.startEngineSends(ctx); err != nil {
			return err // before the database is opened
		}
		defer sends.close()
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer checkpointWhenQuiet(ctx, st)()
	// The server verifies (and, without a channels section, signs) links
	// with the same keys the channels sign them with: one place.
	keys, err := a.linkKeys(cfg, st)
	if err != nil {
		return err
	}
	for _, k := range keys {
		sc.LinkKeys = append(sc.LinkKeys, hex.EncodeToString(k))
	}
	sc.LinkTTL = cfg.Channels.Links.TTL
	clk, err := a.clock()
	if err != nil {
		return err
	}
	if *publicURL == "" && sc.PublicURL == "" {
		sc.PublicURL = "http://localhost" + portOf(sc.Addr)
	}
	log := newLogger(a.stderr, a.getenv)
	// With templates, sends go to the file email channel (as in tact
	// journey run); without, they wait in the outbox.
	withChannels := len(a.templateDirs(jf)) > 0 || channelsConfigured(cfg.Channels)
	runner, _, err := a.journeyRunner(ctx, jf, withChannels)
	if err != nil {
		return err
	}
	ja := server.JourneysAdapter{Runner: runner}
	// The channels section (when configured) was built with the runner: it
	// sends the journeys' messages and supplies the link signer the emails
	// use, the Twilio token and keyword replies, and the email channel for
	// confirmation codes.
	chset := a.channelSet
	var codes server.CodeSender
	if withChannels && chset == nil {
		// Confirmation codes of data downloads go out like the journeys'
		// email: as .eml files in --out.
		if codes, err = server.NewFileCodeSender(*jf.out, email.Address{Address: sc.CodeFromAddress()}, clk); err != nil {
			return err
		}
	}
	// The console previews the journeys' templates and test-sends through
	// the configured channels to TACT_CONSOLE_SEEDS (comma-separated) only.
	console := server.ConsoleConfig{Runner: runner}
	for _, seed := range strings.Split(a.getenv("TACT_CONSOLE_SEEDS"), ",") {
		if seed = strings.TrimSpace(seed); seed != "" {
			console.SeedList = append(console.SeedList, seed)
		}
	}
	if chset != nil {
		console.Templates, console.Channels = chset.Templates, chset.Channels
	} else if dirs := a.templateDirs(jf); len(dirs) > 0 {
		if console.Templates, err = journeys.LoadTemplates(dirs...); err != nil {
			return err
		}
	}
	srv, err := server.New(server.Options{
		Config: sc, Store: st, Clock: clk, Logger: log,
		Segments:   server.SegmentsAdapter{Store: st},
		Journeys:   ja,
		Watcher:    ja,
		Sink:       bridge.New(st),
		CodeSender: codes,
		Channels:   chset,
		Console:    console,
	})
	if err != nil {
		return err
	}
	// One scheduler loop, as tact journey run uses; it reports tick results
	// through the server's metrics and its health through /readyz.
	srv.StartScheduler(journeys.NewScheduler(runner, journeys.SchedulerConfig{Interval: srv.SchedulerInterval(), OnTick: srv.Metrics().ObserveTick}))
	if err := srv.RegisterJourneyMetrics(runner); err != nil {
		return err
	}
	if err := sends.answer(srv, runner); err != nil {
		return err
	}
	if *role == roleEngine {
		closeStream, err := a.consumeStream(srv, st)
		if err != nil {
			return err
		}
		defer closeStream()
	}
	ln, err := net.Listen("tcp", sc.Addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "tact: serving on %s\n", ln.Addr())
	return srv.Serve(ctx, ln)
}

// portOf is ":8080" for "0.0.0.0:8080" or ":8080".
func portOf(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i:]
	}
	return ""
}
