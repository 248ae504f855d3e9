package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/setup"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
)

// app holds what every command shares: output streams, global flags, the
// configuration and the store, opened on first use.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	dbPath     string
	dbExplicit bool
	configPath string
	nowFlag    string
	// server is --server: commands go through that tact serve's API.
	server string

	cfg   *Config
	clk   clock.Clock
	store *engine.Store
	// channelSet is the adapters built from the channels: section, when a
	// command sends; closed with the app.
	channelSet *setup.Set
	// sendThrough, when set (the engine role with cluster.send.enabled),
	// replaces each channel of the journeys with the remote one of the
	// same name: the senders call the providers.
	sendThrough func(name string) channels.Channel
}

// command is one tact command. Commands with subcommands take the
// subcommand as their first argument.
type command struct {
	usage string
	run   func(ctx context.Context, a *app, args []string) error
}

// errHelpShown ends a command whose -h printed its flags (exit 0).
var errHelpShown = errors.New("help shown")

// usageError is a command line mistake; the exit code is 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// commands is the command table. Each file of this package that adds
// commands contributes through a function listed here.
func commands() map[string]command {
	m := map[string]command{}
	for _, add := range []func(map[string]command){
		engineCommands,
		privacyCommands,
		auditCommands,
		serveCommands,
		journeyCommands,
		segmentCommands,
	} {
		add(m)
	}
	return m
}

func (a *app) dispatch(ctx context.Context, args []string) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		a.printUsage(cmds)
		return nil
	}
	// Global flags may stand before the command.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		n, err := a.globalFlag(args)
		if err != nil {
			return err
		}
		if n == 0 {
			return usagef("unknown flag %s before the command", args[0])
		}
		args = args[n:]
	}
	if len(args) == 0 {
		return usagef("no command given; run tact help")
	}
	c, ok := cmds[args[0]]
	if !ok {
		return usagef("unknown command %q; run tact help", args[0])
	}
	rest, err := a.takeServerFlag(args[1:])
	if err != nil {
		return err
	}
	if a.serverURL() != "" && args[0] != "gen" { // gen writes files, not the database
		return a.dispatchRemote(ctx, args[0], rest)
	}
	return c.run(ctx, a, rest)
}

func (a *app) printUsage(cmds map[string]command) {
	fmt.Fprintln(a.stdout, "usage: tact [--db PATH | --server URL] [--config PATH] [--now RFC3339] COMMAND ...")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(a.stdout, "  tact %s\n", cmds[n].usage)
	}
}

// globalFlag consumes a global flag at args[0], returning how many
// arguments it used (0 if args[0] is not a global flag).
func (a *app) globalFlag(args []string) (int, error) {
	name, val, hasVal := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
	var dst *string
	switch name {
	case "db":
		dst = &a.dbPath
		a.dbExplicit = true
	case "config":
		dst = &a.configPath
	case "now":
		dst = &a.nowFlag
	case "server":
		dst = &a.server
	default:
		return 0, nil
	}
	if hasVal {
		*dst = val
		return 1, nil
	}
	if len(args) < 2 {
		return 0, usagef("flag --%s needs a value", name)
	}
	*dst = args[1]
	return 2, nil
}

// takeServerFlag removes --server wherever it stands among a command's
// arguments: it decides whether the command runs here or on the server.
func (a *app) takeServerFlag(args []string) ([]string, error) {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			return append(out, args[i:]...), nil
		}
		if name, _, _ := strings.Cut(strings.TrimLeft(args[i], "-"), "="); name == "server" && strings.HasPrefix(args[i], "-") {
			n, err := a.globalFlag(args[i:])
			if err != nil {
				return nil, err
			}
			i += n - 1
			continue
		}
		out = append(out, args[i])
	}
	return out, nil
}

// parse parses a command's flags, which may be interspersed with its
// positional arguments, along with the global flags.
func (a *app) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for len(args) > 0 {
		if strings.HasPrefix(args[0], "-") && args[0] != "-" {
			if args[0] == "--" {
				pos = append(pos, args[1:]...)
				break
			}
			n, err := a.globalFlag(args)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				args = args[n:]
				continue
			}
			if err := fs.Parse(args); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					// -h / --help: the command's flags on stdout, exit 0.
					fmt.Fprintf(a.stdout, "flags of tact %s:\n", fs.Name())
					fs.SetOutput(a.stdout)
					fs.PrintDefaults()
					return nil, errHelpShown
				}
				return nil, usagef("%s: %v", fs.Name(), err)
			}
			args = fs.Args()
			continue
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return pos, nil
}

// config loads tact.yaml (or --config) once.
func (a *app) config() (*Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	path := a.configPath
	explicit := path != ""
	if !explicit {
		path = a.getenv("TACT_CONFIG")
		explicit = path != ""
	}
	if !explicit {
		path = "tact.yaml"
	}
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		return nil, err
	}
	a.cfg = cfg
	return cfg, nil
}

// clock is --now / TACT_NOW when set, else the wall clock.
func (a *app) clock() (clock.Clock, error) {
	if a.clk != nil {
		return a.clk, nil
	}
	v := a.nowFlag
	if v == "" {
		v = a.getenv("TACT_NOW")
	}
	if v == "" {
		a.clk = clock.Real{}
		return a.clk, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, usagef("--now: %q is not an RFC 3339 time", v)
	}
	a.clk = clock.Fixed(t)
	return a.clk, nil
}

// openStore opens the database named by --db / TACT_DB (default tact.duckdb).
func (a *app) openStore(ctx context.Context) (*engine.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	path := a.dbPath
	if path == "" {
		path = a.getenv("TACT_DB")
	}
	if path == "" {
		path = "tact.duckdb"
	}
	return a.openStoreAt(ctx, path)
}

func (a *app) openStoreAt(ctx context.Context, path string) (*engine.Store, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	clk, err := a.clock()
	if err != nil {
		return nil, err
	}
	s, err := engine.Open(ctx, path, engine.Options{Config: cfg.Engine(), Clock: clk, Logger: newLogger(a.stderr, a.getenv)})
	if err != nil {
		return nil, err
	}
	a.store = s
	return s, nil
}

func (a *app) close() {
	if a.channelSet != nil {
		_ = a.channelSet.Close()
	}
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			fmt.Fprintln(a.stderr, "tact: close database: "+oneLine(err.Error()))
		}
	}
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// resolve reads a configuration value that may reference the environment
// ("env:NAME"), as the server resolves its credentials.
func (a *app) resolve(v string) string {
	if name, ok := strings.CutPrefix(v, "env:"); ok {
		return a.getenv(name)
	}
	return v
}
