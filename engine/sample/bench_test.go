package sample

import (
	"testing"
)

// BenchmarkWrite generates data sets of growing size. The 1M-profile case
// (~10M events, ~2.8 GB) is the scale of `tact bench`:
//
//	go test -run '^$' -bench 'Write/profiles=1000000' -benchtime 1x ./engine/sample/
func BenchmarkWrite(b *testing.B) {
	for _, n := range []int{1000, 100_000, 1_000_000} {
		b.Run("profiles="+itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			var events int
			for b.Loop() {
				m, err := Write(dir, Options{Profiles: n})
				if err != nil {
					b.Fatal(err)
				}
				events = 0
				for _, f := range m.Files {
					if f.Kind == KindEvents {
						events += f.Rows
					}
				}
			}
			b.ReportMetric(float64(events), "events")
			b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func itoa(n int) string { return pad(n, 1) }
