package journeys

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql/driver"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/email"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/internal/dbtx"
)

// BenchmarkSendStepFloor is the reference BenchmarkSendStep/discard is
// measured against: the least an outbox can do per message on the same
// database, with nothing decided. The sends go in with the Appender, are
// read back in pages (joined with the profile for the address) and marked
// done per batch of 1000 with the Appender, one transaction per batch.
//
//	go test ./journeys -run '^$' -bench 'SendStep(Floor)?/' -benchtime 1x
func BenchmarkSendStepFloor(b *testing.B) {
	const page, batch = 50000, 1000
	ctx := context.Background()
	n := benchPeople()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, _ := benchStore(b, n)
		db := st.DB()
		now := t0.Add(time.Minute)
		b.StartTimer()
		start := time.Now()
		row := make([]driver.Value, 13)
		require.NoError(b, dbtx.Run(ctx, db, nil, func(t *dbtx.Tx) error {
			return dbtx.AppendN(t.Conn, "journey_outbox", n, func(i int) []driver.Value {
				id := int64(i + 1)
				copy(row, []driver.Value{id, "k" + fmt.Sprint(id), id, "bench", int32(1), "hello", id, "email", "welcome", nil, "marketing", true, now})
				return row
			})
		}))
		sent := 0
		for cursor := int64(0); ; {
			rows, err := db.QueryContext(ctx, `SELECT o.id, o.idem_key, o.profile_id, p.email FROM journey_outbox o JOIN profiles p ON p.id = o.profile_id
WHERE o.id > ? ORDER BY o.id LIMIT ?`, cursor, page)
			require.NoError(b, err)
			ids := make([]int64, 0, page)
			for rows.Next() {
				var id, pid int64
				var key, addr string
				require.NoError(b, rows.Scan(&id, &key, &pid, &addr))
				ids = append(ids, id)
			}
			require.NoError(b, rows.Err())
			rows.Close()
			for off := 0; off < len(ids); off += batch {
				part := ids[off:min(off+batch, len(ids))]
				res := make([]driver.Value, 7)
				require.NoError(b, dbtx.Run(ctx, db, nil, func(t *dbtx.Tx) error {
					return dbtx.AppendN(t.Conn, "journey_results", len(part), func(i int) []driver.Value {
						copy(res, []driver.Value{part[i], int32(1), now, "delivered", nil, nil, nil})
						return res
					})
				}))
				sent += len(part)
			}
			if len(ids) < page {
				break
			}
			cursor = ids[len(ids)-1]
		}
		el := time.Since(start)
		require.Equal(b, n, sent)
		b.ReportMetric(float64(n)/el.Seconds(), "msgs/s")
		b.ReportMetric(float64(n), "people")
	}
}

// BenchmarkSMTPAdapter compares channels/email's SMTP adapter with a raw
// go-smtp client on the same number of connections (8) to the same
// loopback sink. "adapter" composes (templates, links, MIME; no DKIM) and
// sends; "adapter-dkim" signs as well; "raw" sends the same messages
// composed beforehand, so the difference is the adapter's own overhead
// plus composition.
//
//	go test ./journeys -run '^$' -bench SMTPAdapter -benchtime 20000x
func BenchmarkSMTPAdapter(b *testing.B) {
	const conns, batch = 8, 1000
	for _, kind := range []string{"raw", "adapter", "adapter-dkim"} {
		b.Run(kind, func(b *testing.B) {
			sink := startSink(b, true)
			cfg, sc := benchEmailConfig(b, sink.addr, conns, kind == "adapter-dkim")
			msgs := make([]channels.Message, b.N)
			for i := range msgs {
				pid := int64(i + 1)
				msgs[i] = channels.Message{
					IdempotencyKey: channels.NewIdempotencyKey("bench", 1, "hello", pid, t0), ProfileID: pid,
					Journey: "bench", JourneyVersion: 1, Step: "hello", Purpose: "marketing", Template: "welcome",
					To: fmt.Sprintf("b%d@example.com", pid), Traits: map[string]any{},
				}
			}
			var cpu0 time.Duration
			if kind == "raw" {
				raw := make([]*email.Composed, len(msgs))
				for i, m := range msgs {
					c, err := email.Compose(&cfg, m)
					require.NoError(b, err)
					raw[i] = c
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 = processCPU(b)
				rawSMTP(b, sink.addr, conns, raw)
			} else {
				s, err := email.NewSMTP(cfg, sc)
				require.NoError(b, err)
				b.Cleanup(func() { s.Close() })
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 = processCPU(b)
				for off := 0; off < len(msgs); off += batch {
					for k, r := range s.Send(context.Background(), msgs[off:min(off+batch, len(msgs))]) {
						require.Equal(b, channels.StatusDelivered, r.Status, "message %d: %v", off+k, r.Err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			// CPU per message (client and in-process sink together) is what
			// a loaded machine distorts least: msgs/s there is mostly noise.
			b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/msg")
		})
	}
}

// processCPU is the user and system CPU time the process used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawSMTP sends every message over conns go-smtp clients, each taking the
// next message as it finishes one, as the adapter's pool does.
func rawSMTP(b *testing.B, addr string, conns int, raw []*email.Composed) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- rawWorker(addr, raw, &next)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(b, err)
	}
}

func rawWorker(addr string, raw []*email.Composed, next *atomic.Int64) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	for {
		i := int(next.Add(1) - 1)
		if i >= len(raw) {
			return c.Quit()
		}
		if err := c.Mail("hello@tact.example", nil); err != nil {
			return err
		}
		if err := c.Rcpt(raw[i].EnvelopeTo, nil); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(raw[i].Raw); err != nil {
			return err
		}
		if _, err := w.CloseWithResponse(); err != nil {
			return err
		}
	}
}

// benchEmailConfig is buildSMTP's configuration (sink_test.go), optionally
// with DKIM signing.
func benchEmailConfig(b *testing.B, addr string, pool int, dkim bool) (email.Config, email.SMTPConfig) {
	host, port, err := net.SplitHostPort(addr)
	require.NoError(b, err)
	var p int
	_, err = fmt.Sscan(port, &p)
	require.NoError(b, err)
	set, err := testEmailTemplates()
	require.NoError(b, err)
	signer, err := linktoken.New(linktoken.Config{Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	require.NoError(b, err)
	cfg := email.Config{
		From:      email.Address{Name: "Tact", Address: "hello@tact.example"},
		Templates: set,
		Links:     linktoken.Links{BaseURL: "https://prefs.tact.example", Signer: signer},
		// Compose (the raw leg) takes the config as NewSMTP would complete it.
		MessageIDDomain: "tact.example",
		Now:             time.Now,
	}
	if dkim {
		cfg.DKIM = benchDKIM(b)
	}
	return cfg, email.SMTPConfig{Host: host, Port: p, TLS: email.TLSNone, PoolSize: pool, MaxMessagesPerConn: -1}
}

// benchDKIM is a 2048-bit RSA DKIM signer (the common key size).
func benchDKIM(b *testing.B) *email.DKIMConfig {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(b, err)
	return &email.DKIMConfig{Domain: "tact.example", Selector: "bench", Signer: key}
}
