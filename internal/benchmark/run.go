package benchmark

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tactcdp/tact/engine/sample"
)

// Leg names, in the order they run.
const (
	LegImport  = "import"
	LegIngest  = "ingest"
	LegSend    = "send"
	LegSegment = "segment"
	// LegIngestCluster (not in AllLegs: tact bench --cluster adds it)
	// measures ingest nodes on NATS JetStream beside the single process.
	LegIngestCluster = "ingest-cluster"
)

// AllLegs is the default selection.
func AllLegs() []string { return []string{LegImport, LegIngest, LegSend, LegSegment} }

// Options configure a bench run.
type Options struct {
	Legs     []string // default AllLegs
	Profiles int      // data set size; default 1,000,000
	// SendPeople is the send leg's audience, at most Profiles; default
	// 100,000.
	SendPeople int
	// SMTPConns is the number of SMTP connections on both sides of the
	// SMTP case; default 8.
	SMTPConns int
	// SMTPRounds is how many times the SMTP adapter case runs its two
	// sides, alternating, each side keeping its fastest run; default 3.
	SMTPRounds int
	// IngestDuration and IngestRequests bound each ingest measurement:
	// it stops at whichever comes first (IngestRequests 0: no bound).
	// Default 10s.
	IngestDuration time.Duration
	IngestRequests int
	// IngestClients are the concurrent client counts, one case each;
	// default 8 and 32.
	IngestClients []int
	// Segment configures the segment leg.
	Segment SegmentOptions
	// Dir holds the generated files and databases (required).
	Dir string
	// Exe is the tact binary the children run; Env their environment.
	Exe string
	Env []string
	// Progress receives progress lines; nil for none.
	Progress io.Writer
}

func (o *Options) defaults() error {
	if len(o.Legs) == 0 {
		o.Legs = AllLegs()
	}
	if o.Profiles <= 0 {
		o.Profiles = 1_000_000
	}
	if o.SendPeople <= 0 {
		o.SendPeople = 100_000
	}
	o.SendPeople = min(o.SendPeople, o.Profiles)
	if o.SMTPConns <= 0 {
		o.SMTPConns = 8
	}
	if o.SMTPRounds <= 0 {
		o.SMTPRounds = 3
	}
	if o.IngestDuration <= 0 {
		o.IngestDuration = 10 * time.Second
	}
	if len(o.IngestClients) == 0 {
		o.IngestClients = []int{8, 32}
	}
	if o.Dir == "" || o.Exe == "" {
		return fmt.Errorf("bench: Dir and Exe are required")
	}
	return nil
}

// KnownLegs are every leg, in the order a run measures them.
func KnownLegs() []string { return append(AllLegs(), LegIngestCluster) }

// ValidLeg says whether name is a leg.
func ValidLeg(name string) bool {
	for _, l := range KnownLegs() {
		if l == name {
			return true
		}
	}
	return false
}

// runner is one bench run's state.
type runner struct {
	o     Options
	l     launcher
	p     *progress
	once  sync.Once
	files sample.Manifest
	err   error
}

// Run measures the selected legs and returns the report.
func Run(ctx context.Context, o Options) (Report, error) {
	if err := o.defaults(); err != nil {
		return Report{}, err
	}
	r := &runner{o: o, l: launcher{exe: o.Exe, env: o.Env}, p: newProgress(o.Progress)}
	rep := Report{Profiles: o.Profiles, Machine: machineFacts()}
	legs := map[string]func(context.Context) (Leg, error){
		LegImport: r.importLeg, LegIngest: r.ingestLeg, LegSend: r.sendLeg, LegSegment: r.segmentLeg,
		LegIngestCluster: r.ingestClusterLeg,
	}
	for _, name := range KnownLegs() {
		if !contains(o.Legs, name) {
			continue
		}
		leg, err := legs[name](ctx)
		if err != nil {
			return rep, fmt.Errorf("%s leg: %w", name, err)
		}
		rep.Legs = append(rep.Legs, leg)
	}
	rep.Machine.LoadAvgEnd = loadAvg()
	return rep, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sample generates the sample data set once per run (the import and
// ingest legs share it).
func (r *runner) sample() (sample.Manifest, string, error) {
	dir := filepath.Join(r.o.Dir, "sample")
	r.once.Do(func() {
		stop := r.p.watch(fmt.Sprintf("generating the sample data set (%d profiles)", r.o.Profiles), "bytes", func() int64 { return dirBytes(dir) }, nil)
		r.files, r.err = sample.Write(dir, sample.Options{Profiles: r.o.Profiles})
		stop()
	})
	return r.files, dir, r.err
}

// dirBytes is the total size of the files in dir (a progress figure).
func dirBytes(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			n += info.Size()
		}
	}
	return n
}

// fileOf finds a generated file by name.
func fileOf(m sample.Manifest, name string) (sample.File, error) {
	for _, f := range m.Files {
		if f.Name == name {
			return f, nil
		}
	}
	return sample.File{}, fmt.Errorf("the sample has no %s", name)
}

// scratch is a fresh path under the run's directory, removed first (with
// its DuckDB write-ahead log) so that every side starts empty.
func (r *runner) scratch(parts ...string) string {
	p := filepath.Join(append([]string{r.o.Dir}, parts...)...)
	_ = os.MkdirAll(filepath.Dir(p), 0o755)
	removeDB(p)
	return p
}

// removeDB removes a database file and its companions ("<name>.*").
func removeDB(p string) {
	_ = os.Remove(p)
	companions, _ := filepath.Glob(p + ".*")
	for _, f := range companions {
		_ = os.Remove(f)
	}
}

func label(parts ...string) string { return strings.Join(parts, " / ") }
