package main

import (
	"context"
	"flag"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tactcdp/tact/engine/sample"
	"github.com/tactcdp/tact/internal/benchmark"
)

const benchUsage = "bench [--legs import,ingest,send,segment] [--cluster] [--profiles N] [--send-people N] [--smtp-rounds N] [--ingest-seconds S] [--ingest-requests N] [--dir DIR] [--quiet]"

// cmdBench measures Tact's data paths beside their references, each side
// in a child process, and prints one JSON report (docs/benchmarks.md). A
// child is this binary again with benchmark.EnvSpec set.
func cmdBench(ctx context.Context, a *app, args []string) error {
	if spec := a.getenv(benchmark.EnvSpec); spec != "" {
		return benchmark.Child(ctx, spec, a.stdout)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	legs := fs.String("legs", strings.Join(benchmark.AllLegs(), ","), "comma-separated legs to run")
	profiles := fs.Int("profiles", 1_000_000, "profiles in the generated data sets")
	sendPeople := fs.Int("send-people", 100_000, "people the send leg messages (at most --profiles)")
	smtpConns := fs.Int("smtp-conns", 8, "SMTP connections of both sides of the send leg's SMTP case")
	smtpRounds := fs.Int("smtp-rounds", 3, "send leg: rounds of the SMTP adapter case, the sides alternating (each side's fastest is reported)")
	ingestSeconds := fs.Float64("ingest-seconds", 10, "seconds each ingest measurement runs")
	ingestRequests := fs.Int("ingest-requests", 0, "stop each ingest measurement after this many requests (0: no bound)")
	epp := fs.Int("events-per-profile", 5, "segment leg: average events per profile")
	repeat := fs.Int("repeat", 3, "segment leg: timed runs per query (the fastest is reported)")
	dir := fs.String("dir", "", "directory for generated files and scratch databases (default: a temporary one, removed)")
	quiet := fs.Bool("quiet", false, "no progress on standard error")
	withCluster := fs.Bool("cluster", false, "add the ingest-cluster leg: ingest nodes on NATS JetStream (R1, R3) beside the single process")
	globalsOn(fs, a)
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("bench: unexpected argument %q", pos[0])
	}
	o := benchmark.Options{Profiles: *profiles, SendPeople: *sendPeople, SMTPConns: *smtpConns, SMTPRounds: *smtpRounds,
		IngestDuration: time.Duration(*ingestSeconds * float64(time.Second)), IngestRequests: *ingestRequests,
		Segment: benchmark.SegmentOptions{EventsPerProfile: *epp, Repeat: *repeat}, Dir: *dir}
	if o.Legs, err = parseLegs(*legs); err != nil {
		return err
	}
	if *withCluster && !slices.Contains(o.Legs, benchmark.LegIngestCluster) {
		o.Legs = append(o.Legs, benchmark.LegIngestCluster)
	}
	if err := checkBenchFlags(o, *smtpConns, *ingestSeconds); err != nil {
		return err
	}
	if a.nowFlag != "" || a.getenv("TACT_NOW") != "" {
		clk, err := a.clock()
		if err != nil {
			return err
		}
		o.Segment.Now = clk.Now()
	}
	if !*quiet && isTerminal(a.stderr) {
		o.Progress = a.stderr
	}
	if o.Exe, err = os.Executable(); err != nil {
		return err
	}
	o.Env = os.Environ()
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "tact-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.Dir = d
	}
	r, err := benchmark.Run(ctx, o)
	if err != nil {
		return err
	}
	return a.printJSON(r)
}

func parseLegs(s string) ([]string, error) {
	var legs []string
	for _, l := range strings.Split(s, ",") {
		l = strings.TrimSpace(l)
		if !benchmark.ValidLeg(l) {
			return nil, usagef("bench: --legs: unknown leg %q (want %s)", l, strings.Join(benchmark.KnownLegs(), ", "))
		}
		legs = append(legs, l)
	}
	return legs, nil
}

func checkBenchFlags(o benchmark.Options, smtpConns int, ingestSeconds float64) error {
	maxProfiles := 100_000_000 // the segment leg generates in SQL
	for _, l := range o.Legs {
		if l != benchmark.LegSegment {
			maxProfiles = sample.MaxProfiles // the other legs use the sample generator
		}
	}
	switch {
	case o.Profiles <= 0 || o.Profiles > maxProfiles:
		return usagef("bench: --profiles must be between 1 and %d", maxProfiles)
	case o.SendPeople <= 0:
		return usagef("bench: --send-people must be positive")
	case smtpConns <= 0 || smtpConns > 256:
		return usagef("bench: --smtp-conns must be between 1 and 256")
	case o.SMTPRounds <= 0 || o.SMTPRounds > 20:
		return usagef("bench: --smtp-rounds must be between 1 and 20")
	case ingestSeconds <= 0:
		return usagef("bench: --ingest-seconds must be positive")
	case o.IngestRequests < 0:
		return usagef("bench: --ingest-requests must not be negative")
	}
	return nil
}

// isTerminal says whether w is a terminal: progress is for people
// watching, not for logs or pipes.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
