package email

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"testing"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
)

// BenchmarkSMTPThroughput measures messages per second through the SMTP
// adapter (template rendering, MIME, token signing included) to a go-smtp
// server on loopback, with 1 and with N pooled connections.
//
//	go test ./channels/email -run x -bench SMTPThroughput -benchtime 2000x
//
// The "remote" variants add 2ms of simulated server latency per message
// (a remote MTA): there the pool's parallelism shows; on bare loopback both
// ends share the same CPUs.
func BenchmarkSMTPThroughput(b *testing.B) {
	for _, conns := range []int{1, 4, 8} {
		for _, kind := range []string{"transactional", "marketing", "marketing-remote"} {
			b.Run(fmt.Sprintf("conns=%d/%s", conns, kind), func(b *testing.B) {
				o := serverOpts{discard: true}
				if kind == "marketing-remote" {
					o.latency = 2 * time.Millisecond
				}
				srv := startServer(b, o)
				s := newSMTP(b, srv, func(_ *Config, sc *SMTPConfig) { sc.PoolSize = conns })
				batch := make([]channels.Message, 0, b.N)
				for i := 0; i < b.N; i++ {
					if kind != "transactional" {
						batch = append(batch, welcome(fmt.Sprintf("p%d@example.net", i), int64(i)))
					} else {
						batch = append(batch, receipt(fmt.Sprintf("p%d@example.net", i)))
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				const chunk = 500
				for off := 0; off < len(batch); off += chunk {
					end := min(off+chunk, len(batch))
					for i, r := range s.Send(context.Background(), batch[off:end]) {
						if r.Status != channels.StatusDelivered {
							b.Fatalf("message %d: %v", off+i, r.Err)
						}
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
				b.ReportMetric(float64(s.Dialed()), "conns_dialed")
			})
		}
	}
}

// BenchmarkCompose measures composition alone (templates, links, MIME),
// without and with DKIM, for the golden messages.
//
//	go test ./channels/email -run x -bench Compose -benchmem
func BenchmarkCompose(b *testing.B) {
	for _, signed := range []bool{false, true} {
		cfg, msgs := goldenMessages(b)
		if signed {
			cfg.DKIM = &DKIMConfig{Domain: "coffee.example.com", Selector: "bench", Signer: benchKey(b)}
		}
		for _, name := range []string{"welcome", "receipt"} {
			b.Run(fmt.Sprintf("%s/dkim=%v", name, signed), func(b *testing.B) {
				m := msgs[name]
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := Compose(&cfg, m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func benchKey(b *testing.B) *rsa.PrivateKey {
	b.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// BenchmarkComposeShort measures a short English marketing email (the
// send leg of `tact bench`: quoted-printable, a text part derived from the
// HTML, one unsubscribe link).
//
//	go test ./channels/email -run x -bench ComposeShort -benchmem
func BenchmarkComposeShort(b *testing.B) {
	tpl, err := templates.New("short", templates.ChannelEmail, "short.email.html", `---
purpose: marketing
subject: "Hello {{ .traits.first_name | default \"friend\" }}"
---
<p>Hi {{ .traits.first_name | default "there" }}</p>
<p>Our autumn collection is here: take a look before it is gone.</p>
<p><a href="{{ .unsubscribe_url }}">Unsubscribe</a></p>
`, true, "", "")
	if err != nil {
		b.Fatal(err)
	}
	set, err := templates.NewSet(tpl)
	if err != nil {
		b.Fatal(err)
	}
	cfg := testConfig(b)
	cfg.From = Address{Name: "Tact bench", Address: "hello@bench.example"}
	cfg.Templates = set
	if err := cfg.setDefaults(); err != nil {
		b.Fatal(err)
	}
	m := channels.Message{
		IdempotencyKey: channels.NewIdempotencyKey("bench", 1, "send", 42, testNow),
		ProfileID:      42, Journey: "bench", JourneyVersion: 1, Step: "send", Purpose: "marketing",
		To: "s42@example.com", Template: "short", Traits: map[string]any{"first_name": "Person42"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compose(&cfg, m); err != nil {
			b.Fatal(err)
		}
	}
}
