package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/sample"
)

// BenchmarkImport imports a generated sample into a fresh file database per
// iteration and reports rows per second for each kind. The size comes from
// TACT_BENCH_PROFILES (default 50 000 people, ~10 events each); the figures
// in the closing notes used 1 000 000 through the tact binary.
func BenchmarkImport(b *testing.B) {
	n := 50_000
	if v := os.Getenv("TACT_BENCH_PROFILES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err)
	}
	dir := b.TempDir()
	manifest, err := sample.Write(dir, sample.Options{Profiles: n})
	require.NoError(b, err)
	ctx := context.Background()
	rows := map[string]int{}
	for _, f := range manifest.Files {
		rows[f.Kind] += f.Rows
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s, err := engine.Open(ctx, filepath.Join(b.TempDir(), "bench.duckdb"), engine.Options{Config: testConfig()})
		require.NoError(b, err)
		b.StartTimer()
		secs := map[string]float64{}
		for _, f := range manifest.Files {
			res, err := s.Import(ctx, engine.ImportKind(f.Kind), filepath.Join(dir, f.Name))
			require.NoError(b, err)
			secs[f.Kind] += res.Duration.Seconds()
		}
		b.StopTimer()
		require.NoError(b, s.Close())
		for kind, sec := range secs {
			b.ReportMetric(float64(rows[kind])/sec, kind+"_rows/s")
		}
		b.StartTimer()
	}
}
