package benchmark

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels/email"
)

// TestReferenceMessageIsTheAdapters: the raw client's message is the
// adapter's in shape and size, so the SMTP cases compare the same bytes
// on the wire; a change to what the adapter composes fails here until the
// reference follows.
func TestReferenceMessageIsTheAdapters(t *testing.T) {
	t.Parallel()
	cfg, err := benchEmailConfig(nil)
	require.NoError(t, err)
	// The defaults NewSMTP fills in.
	cfg.MessageIDDomain, cfg.Now = "bench.example", time.Now
	for _, pid := range []int64{7, 42_000, 999_999} {
		m := benchMessage(pid, time.Now())
		c, err := email.Compose(&cfg, m)
		require.NoError(t, err)
		ref := referenceMessage(int(pid))
		require.InEpsilon(t, len(c.Raw), len(ref), 0.02, "bytes of message %d: adapter %d, reference %d", pid, len(c.Raw), len(ref))
		header := func(raw []byte) []string {
			var names []string
			for _, l := range strings.Split(string(raw[:bytes.Index(raw, []byte("\r\n\r\n"))]), "\r\n") {
				if name, _, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") {
					names = append(names, name) // not a folded line's continuation
				}
			}
			return names
		}
		require.Equal(t, header(c.Raw), header(ref), "the same headers in the same order")
		require.Equal(t, bytes.Count(c.Raw, []byte("Content-Type:")), bytes.Count(ref, []byte("Content-Type:")), "the same parts")
	}
}

// TestSMTPAdapterAloneInProcess: the adapter-alone side delivers every
// message to the sink across batches, the last one short.
func TestSMTPAdapterAloneInProcess(t *testing.T) {
	t.Parallel()
	sink, err := startSMTPSink()
	require.NoError(t, err)
	defer sink.close()
	out, err := smtpAdapterAlone(context.Background(), task{People: 2500, Addr: sink.addr, Conns: 3})
	require.NoError(t, err)
	s := out.Sides[sideResult]
	require.Equal(t, int64(2500), s.Work)
	require.Equal(t, int64(2500), sink.messages.Load())
	require.Positive(t, s.AllocsPerMsg)
}

// TestFasterKeepsTheBestRunAndTheMostMemory: alternating rounds report
// each side's fastest run, with the most memory any of its runs took.
func TestFasterKeepsTheBestRunAndTheMostMemory(t *testing.T) {
	t.Parallel()
	var best Side
	for _, s := range []Side{
		{What: "first", Rate: 900, PeakRSSMiB: 40},
		{What: "second", Rate: 1200, PeakRSSMiB: 35},
		{What: "third", Rate: 1100, PeakRSSMiB: 52},
	} {
		best = faster(best, s)
	}
	require.Equal(t, "second", best.What)
	require.InDelta(t, 1200, best.Rate, 0)
	require.InDelta(t, 52, best.PeakRSSMiB, 0)
}
