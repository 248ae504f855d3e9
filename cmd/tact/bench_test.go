package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/internal/benchmark"
)

func decodeReport(t *testing.T, out string) benchmark.Report {
	t.Helper()
	var r benchmark.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	return r
}

// TestBenchAllLegsTiny runs every leg at a tiny size through the command
// and checks the report's shape: each case has both sides measured, a
// slowdown that is the ratio of their rates, and a peak RSS per side read
// from a child process.
func TestBenchAllLegsTiny(t *testing.T) {
	t.Parallel()
	out, stderr, code := tact(t, nil, "bench", "--profiles", "2000", "--send-people", "300", "--ingest-requests", "10",
		"--ingest-seconds", "120", "--repeat", "1", "--dir", t.TempDir(), "--quiet")
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stderr, "--quiet prints nothing on standard error")
	r := decodeReport(t, out)
	require.Equal(t, 2000, r.Profiles)
	require.Positive(t, r.Machine.Cores)
	require.NotEmpty(t, r.Machine.GoVersion)
	var legs []string
	sidesDiffer := false
	for _, leg := range r.Legs {
		legs = append(legs, leg.Leg)
		require.NotEmpty(t, leg.Cases, leg.Leg)
		for _, c := range leg.Cases {
			name := leg.Leg + ": " + c.Case
			for _, s := range []benchmark.Side{c.Tact, c.Reference} {
				require.Positive(t, s.Rate, name)
				require.Positive(t, s.Seconds, name)
				require.Positive(t, s.Work, name)
				require.NotEmpty(t, s.Unit, name)
				require.NotEmpty(t, s.What, name)
			}
			require.Equal(t, c.Tact.Unit, c.Reference.Unit, name)
			require.InEpsilon(t, c.Reference.Rate/c.Tact.Rate, c.Slowdown, 0.01, name)
			require.Positive(t, c.PeakRSS.Tact, name)
			require.Positive(t, c.PeakRSS.Reference, name)
			if c.PeakRSS.Tact != c.PeakRSS.Reference {
				sidesDiffer = true
			} else {
				require.True(t, c.SharedProcess || leg.Leg != benchmark.LegSegment, name)
			}
		}
	}
	require.Equal(t, benchmark.AllLegs(), legs)
	require.True(t, sidesDiffer, "each side runs in a process of its own")

	byLeg := map[string]benchmark.Leg{}
	for _, l := range r.Legs {
		byLeg[l.Leg] = l
	}
	require.Len(t, byLeg[benchmark.LegImport].Cases, 5, "four sample files and the profiles as Parquet")
	for _, c := range byLeg[benchmark.LegIngest].Cases {
		require.Equal(t, int64(10*100), c.Tact.Work, "the request bound: 10 requests of 100 events")
		require.Positive(t, c.Tact.P50Millis)
		require.GreaterOrEqual(t, c.Tact.P99Millis, c.Tact.P50Millis)
		require.Positive(t, c.Reference.P50Millis)
	}
	require.Len(t, byLeg[benchmark.LegSend].Cases, 3, "discard, the send step into SMTP, the SMTP adapter alone")
	for _, c := range byLeg[benchmark.LegSend].Cases {
		require.Equal(t, int64(300), c.Tact.Work, c.Case)
		require.Equal(t, int64(300), c.Reference.Work, c.Case)
		require.Positive(t, c.Tact.BytesPerMsg, c.Case)
		require.Positive(t, c.Tact.AllocsPerMsg, c.Case)
	}
	require.Contains(t, string(byLeg[benchmark.LegSegment].Detail), `"paths_agree": true`)
}

// TestBenchLegsSelects: --legs runs only the named legs; standard error
// that is not a terminal gets no progress even without --quiet.
func TestBenchLegsSelects(t *testing.T) {
	t.Parallel()
	out, stderr, code := tact(t, nil, "bench", "--legs", "segment", "--profiles", "1000", "--repeat", "1", "--dir", t.TempDir())
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stderr)
	r := decodeReport(t, out)
	require.Len(t, r.Legs, 1)
	require.Equal(t, benchmark.LegSegment, r.Legs[0].Leg)
	require.Len(t, r.Legs[0].Cases, 2)
}

// TestBenchIngestCluster: --cluster adds the ingest-cluster leg: ingest
// nodes on JetStream with the stream on one and on three nodes, each
// beside the single process at the same client count, in the same run.
func TestBenchIngestCluster(t *testing.T) {
	t.Parallel()
	out, stderr, code := tact(t, nil, "bench", "--legs", "ingest-cluster", "--cluster", "--ingest-requests", "10",
		"--ingest-seconds", "120", "--dir", t.TempDir(), "--quiet")
	require.Equal(t, 0, code, stderr)
	r := decodeReport(t, out)
	require.Len(t, r.Legs, 1)
	leg := r.Legs[0]
	require.Equal(t, benchmark.LegIngestCluster, leg.Leg)
	var names []string
	for _, c := range leg.Cases {
		names = append(names, c.Case)
		require.Equal(t, int64(10*100), c.Tact.Work, c.Case)
		require.Equal(t, int64(10*100), c.Reference.Work, c.Case)
		require.Positive(t, c.Tact.P99Millis, c.Case)
		require.Contains(t, c.Tact.What, "--role ingest")
		require.Contains(t, c.Reference.What, "one process")
		require.Positive(t, c.PeakRSS.Tact, c.Case)
	}
	require.Equal(t, []string{
		"/v1/batch, 8 clients × 100 events per request, stream R1", "/v1/batch, 8 clients × 100 events per request, stream R3",
		"/v1/batch, 32 clients × 100 events per request, stream R1", "/v1/batch, 32 clients × 100 events per request, stream R3",
	}, names)
}

func TestBenchUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--legs", "import,frobnicate"}, `bench: --legs: unknown leg "frobnicate" (want import, ingest, send, segment, ingest-cluster)`},
		{[]string{"--legs", ""}, `bench: --legs: unknown leg ""`},
		{[]string{"--profiles", "0"}, "bench: --profiles must be between 1 and 5000000"},
		{[]string{"--profiles", "6000000"}, "bench: --profiles must be between 1 and 5000000"},
		{[]string{"--legs", "segment", "--profiles", "200000000"}, "bench: --profiles must be between 1 and 100000000"},
		{[]string{"--send-people", "-1"}, "bench: --send-people must be positive"},
		{[]string{"--smtp-conns", "0"}, "bench: --smtp-conns must be between 1 and 256"},
		{[]string{"--smtp-rounds", "0"}, "bench: --smtp-rounds must be between 1 and 20"},
		{[]string{"--ingest-seconds", "0"}, "bench: --ingest-seconds must be positive"},
		{[]string{"--ingest-requests", "-5"}, "bench: --ingest-requests must not be negative"},
		{[]string{"--profiles", "many"}, `bench: invalid value "many" for flag -profiles`},
		{[]string{"--frobnicate"}, "bench: flag provided but not defined: -frobnicate"},
		{[]string{"extra"}, `bench: unexpected argument "extra"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			out, stderr, code := tact(t, nil, append([]string{"bench"}, tc.args...)...)
			require.Equal(t, 2, code, stderr)
			require.Empty(t, out)
			require.Contains(t, stderr, "tact: "+tc.want)
			require.Equal(t, 1, strings.Count(stderr, "\n"), "one line")
		})
	}
}
