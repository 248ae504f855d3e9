package main

import (
	"context"
	"flag"
	"os"

	"github.com/tactcdp/tact/segments/bench"
)

// cmdBench generates a scratch data set (in a temporary directory, never
// the --db database) and prints the segment path timings as JSON.
func cmdBench(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	profiles := fs.Int("profiles", 1_000_000, "profiles to generate")
	epp := fs.Int("events-per-profile", 5, "average events per profile")
	repeat := fs.Int("repeat", 3, "timed runs per query (the fastest is reported)")
	dir := fs.String("dir", "", "directory for the scratch database (default: a temporary one)")
	quiet := fs.Bool("quiet", false, "no progress on standard error")
	globalsOn(fs, a)
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("bench: unexpected argument %q", pos[0])
	}
	if *profiles <= 0 || *profiles > 100_000_000 {
		return usagef("bench: --profiles must be between 1 and 100000000")
	}
	clk, err := a.clock()
	if err != nil {
		return err
	}
	o := bench.Options{Profiles: *profiles, EventsPerProfile: *epp, Repeat: *repeat, Dir: *dir}
	if a.nowFlag != "" || a.getenv("TACT_NOW") != "" {
		o.Now = clk.Now()
	}
	if !*quiet {
		o.Log = a.stderr
	}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "tact-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.Dir = d
	}
	r, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	return a.printJSON(r)
}
