package benchmark

import (
	"encoding/json"
	"math"
)

// Report is the JSON document `tact bench` prints.
type Report struct {
	Profiles int     `json:"profiles"`
	Machine  Machine `json:"machine"`
	Legs     []Leg   `json:"legs"`
}

// Leg is one measured path with its cases.
type Leg struct {
	Leg   string `json:"leg"`
	Cases []Case `json:"cases"`
	// Detail is the leg's own full result, where it has one (the segment
	// leg: segments/bench's, VM path included).
	Detail json.RawMessage `json:"detail,omitempty"`
}

// Case is one workload measured on both sides.
type Case struct {
	Case      string `json:"case"`
	Tact      Side   `json:"tact"`
	Reference Side   `json:"reference"`
	// Slowdown is how many times longer Tact takes than the reference for
	// the same work: reference rate / Tact rate (equivalently Tact seconds
	// / reference seconds). 1 means parity; above 1, Tact is slower.
	Slowdown float64 `json:"slowdown"`
	PeakRSS  PeakRSS `json:"peak_rss_mb"`
	// SharedProcess says both sides ran in one child process (the segment
	// leg measures two queries over one generated data set), so the two
	// peak RSS figures are the same process's.
	SharedProcess bool `json:"shared_process,omitempty"`
}

// PeakRSS is each side's child process's maximum resident set, in MiB.
type PeakRSS struct {
	Tact      float64 `json:"tact"`
	Reference float64 `json:"reference"`
}

// Side is one side's measurement.
type Side struct {
	What    string  `json:"what"`
	Rate    float64 `json:"rate"`
	Unit    string  `json:"unit"`
	Seconds float64 `json:"seconds"`
	Work    int64   `json:"work"` // rows, events or messages done
	// Latency of requests (ingest leg).
	P50Millis float64 `json:"p50_ms,omitempty"`
	P99Millis float64 `json:"p99_ms,omitempty"`
	// Go heap allocation per message (send leg): runtime.MemStats
	// TotalAlloc and Mallocs over the timed run, divided by messages.
	// DuckDB's own (C) allocations are not included.
	BytesPerMsg  float64 `json:"bytes_per_msg,omitempty"`
	AllocsPerMsg float64 `json:"allocs_per_msg,omitempty"`
	// DuckDB settings the side ran with (import leg).
	MemoryLimit string `json:"duckdb_memory_limit,omitempty"`
	Threads     int64  `json:"duckdb_threads,omitempty"`
	// PeakRSSMiB is filled by the parent from the child's rusage.
	PeakRSSMiB float64 `json:"-"`
}

// Units of Side.Unit.
const (
	UnitRows     = "rows/s"
	UnitEvents   = "events/s"
	UnitMessages = "msgs/s"
	UnitProfiles = "profiles/s"
)

// newSide computes the rate of work done in seconds.
func newSide(what, unit string, work int64, seconds float64) Side {
	s := Side{What: what, Unit: unit, Work: work, Seconds: round(seconds, 4)}
	if seconds > 0 {
		s.Rate = round(float64(work)/seconds, 1)
	}
	return s
}

// newCase pairs the two sides and derives the slowdown and peak memory.
func newCase(name string, tact, ref Side) Case {
	c := Case{Case: name, Tact: tact, Reference: ref,
		PeakRSS: PeakRSS{Tact: round(tact.PeakRSSMiB, 1), Reference: round(ref.PeakRSSMiB, 1)}}
	if tact.Rate > 0 {
		c.Slowdown = round(ref.Rate/tact.Rate, 3)
	}
	return c
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
