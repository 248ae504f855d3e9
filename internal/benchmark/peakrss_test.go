package benchmark

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMain lets this test binary serve as a bench child, as tact does.
func TestMain(m *testing.M) {
	if spec := os.Getenv(EnvSpec); spec != "" {
		if err := Child(context.Background(), spec, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestChildPeakIsItsOwn: a child's peak memory is what it held, not its
// parent's. The rusage of an exited child reported the parent's peak when
// that was larger (Go starts children with vfork), so every small child
// of a large parent showed the parent's figure.
func TestChildPeakIsItsOwn(t *testing.T) {
	const parentMiB = 512
	ballast := make([]byte, parentMiB<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1 // resident, not just reserved
	}
	own, ok := vmHWMMiB("self")
	if !ok {
		t.Skip("no /proc status here")
	}
	require.Greater(t, own, float64(parentMiB))

	l := launcher{exe: os.Args[0]}
	out, err := l.run(t.Context(), task{Name: taskSendRef, DB: filepath.Join(t.TempDir(), "o.duckdb"), People: 10})
	require.NoError(t, err)
	s := out.Sides[sideResult]
	require.Equal(t, int64(10), s.Work)
	require.Positive(t, s.PeakRSSMiB)
	require.Less(t, s.PeakRSSMiB, float64(parentMiB)/2, "a small child's own peak, not the parent's %.0f MiB", own)
	runtime.KeepAlive(ballast)
}

func TestVMHWMOfNoProcess(t *testing.T) {
	t.Parallel()
	_, ok := vmHWMMiB("0")
	require.False(t, ok)
}
