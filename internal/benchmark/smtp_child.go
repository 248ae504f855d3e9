package benchmark

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/email"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/templates"
)

// welcomeTemplate is the SMTP case's marketing e-mail: personalised, with
// the signed unsubscribe link every marketing e-mail carries.
const welcomeTemplate = `---
purpose: marketing
subject: "Hello {{ .traits.first_name | default \"friend\" }}"
---
<p>Hi {{ .traits.first_name | default "there" }}</p>
<p>Our autumn collection is here: take a look before it is gone.</p>
<p><a href="{{ .unsubscribe_url }}">Unsubscribe</a></p>
`

// smtpAdapter is channels/email's SMTP adapter to addr over conns
// connections, with the gate.
func smtpAdapter(addr string, conns int, gate channels.Gate) (*email.SMTP, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	cfg, err := benchEmailConfig(gate)
	if err != nil {
		return nil, err
	}
	return email.NewSMTP(cfg, email.SMTPConfig{Host: host, Port: p, TLS: email.TLSNone, PoolSize: conns, MaxMessagesPerConn: -1})
}

// benchEmailConfig is the send leg's e-mail configuration: the welcome
// template, signed links, the gate.
func benchEmailConfig(gate channels.Gate) (email.Config, error) {
	tpl, err := templates.New("welcome", templates.ChannelEmail, "welcome.email.html", welcomeTemplate, true, "", "")
	if err != nil {
		return email.Config{}, err
	}
	set, err := templates.NewSet(tpl)
	if err != nil {
		return email.Config{}, err
	}
	signer, err := linktoken.New(linktoken.Config{Keys: [][]byte{bytes.Repeat([]byte("b"), 32)}})
	if err != nil {
		return email.Config{}, err
	}
	return email.Config{
		From:      email.Address{Name: "Tact bench", Address: "hello@bench.example"},
		Templates: set,
		Links:     linktoken.Links{BaseURL: "https://prefs.bench.example", Signer: signer},
		Gate:      gate,
	}, nil
}

// smtpTact is the send step into the SMTP adapter against the parent's
// loopback sink.
func smtpTact(ctx context.Context, t task) (childOutput, error) {
	return runSendStep(ctx, t, fmt.Sprintf("tact journey send step into the SMTP adapter, %d connections", t.Conns),
		func(gate channels.Gate) (channels.Channel, func(), error) {
			s, err := smtpAdapter(t.Addr, t.Conns, gate)
			if err != nil {
				return nil, nil, err
			}
			return s, func() { _ = s.Close() }, nil
		})
}

// smtpAdapterAlone sends People messages through channels/email's SMTP
// adapter by itself, in batches of sendBatch as the send step hands them
// over: composition (template, signed unsubscribe link, MIME) and the
// pooled SMTP conversations, without the journey store around it and
// with no gate (the send step's gate is measured by the discard case).
// Each batch is built in the timed loop, as the reference builds each of
// its messages in its own.
func smtpAdapterAlone(ctx context.Context, t task) (childOutput, error) {
	s, err := smtpAdapter(t.Addr, t.Conns, nil)
	if err != nil {
		return childOutput{}, err
	}
	defer func() { _ = s.Close() }()
	slot := time.Now().UTC()
	batch := make([]channels.Message, 0, sendBatch)
	meter := startAllocs()
	start := time.Now()
	sent := 0
	for off := 0; off < t.People; off += sendBatch {
		batch = batch[:0]
		for pid := int64(off + 1); pid <= int64(min(off+sendBatch, t.People)); pid++ {
			batch = append(batch, benchMessage(pid, slot))
		}
		for k, r := range s.Send(ctx, batch) {
			if r.Status != channels.StatusDelivered {
				err := r.Err
				if err == nil {
					err = errors.New("no error given")
				}
				return childOutput{}, fmt.Errorf("SMTP adapter: message %d not delivered (%s): %w", off+k+1, r.Reason, err)
			}
			sent++
		}
	}
	side := newSide(fmt.Sprintf("channels/email SMTP adapter alone, batches of %d, %d connections", sendBatch, t.Conns), UnitMessages, int64(sent), time.Since(start).Seconds())
	meter.per(&side)
	return single(side), nil
}

// benchMessage is the message the send step hands the adapter for person
// pid of the send leg (sendPrepare's s<pid>, first name Person<pid>).
func benchMessage(pid int64, slot time.Time) channels.Message {
	return channels.Message{
		IdempotencyKey: channels.NewIdempotencyKey("bench", 1, "hello", pid, slot), ProfileID: pid,
		Journey: "bench", JourneyVersion: 1, Step: "hello", Purpose: "marketing", Template: "welcome",
		To: fmt.Sprintf("s%d@example.com", pid), Traits: map[string]any{"first_name": fmt.Sprintf("Person%d", pid)},
	}
}

// referenceMessage is a message of the adapter's shape and size (see
// TestReferenceMessageIsTheAdapters): the same headers, a text and an HTML
// part in quoted-printable, an unsubscribe link as long as a signed one;
// only built with one Appendf instead of composed.
func referenceMessage(i int) []byte {
	const token = "Ab0q1Mv8sA2AztoDCW1hcmtldGluZwVlbWFpbJb3okRfDHCYYK9AI1Pf_SgorEOwlKus3U4whdibxDXv"
	return fmt.Appendf(nil, "Date: %s\r\nFrom: \"Tact bench\" <hello@bench.example>\r\nTo: <s%d@example.com>\r\n"+
		"Subject: Hello Person%d\r\nMessage-ID: <ref-%024d@bench.example>\r\nMIME-Version: 1.0\r\n"+
		"X-Tact-Key: ref-%044d\r\n"+
		"List-Unsubscribe: <https://prefs.bench.example/unsubscribe?token=%s>\r\n"+
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"+
		"Content-Type: multipart/alternative; boundary=\"ref-boundary-0123456789abcdef\"\r\n\r\n"+
		"--ref-boundary-0123456789abcdef\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Hi Person%d\r\n\r\nOur autumn collection is here: take a look before it is gone.\r\n\r\n"+
		"Unsubscribe (https://prefs.bench.example/unsubscribe?token=3D%s=\r\n%s)\r\n\r\n"+
		"--ref-boundary-0123456789abcdef\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"+
		"<p>Hi Person%d</p>\r\n<p>Our autumn collection is here: take a look before it is gone.</p>\r\n"+
		"<p><a href=3D\"https://prefs.bench.example/unsubscribe?token=3D%s=\r\n%s\">Unsubs=\r\ncribe</a></p>\r\n\r\n"+
		"--ref-boundary-0123456789abcdef--\r\n",
		time.Now().UTC().Format(time.RFC1123Z), i, i, i, i, token, i, token[:14], token[14:], i, token[:13], token[13:])
}

// smtpReference sends People messages with raw go-smtp clients, one per
// connection, the messages shared out between them.
func smtpReference(ctx context.Context, t task) (childOutput, error) {
	meter := startAllocs()
	start := time.Now()
	var next, sent atomic.Int64
	errs := make(chan error, t.Conns)
	var wg sync.WaitGroup
	for range t.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- rawSMTPClient(ctx, t.Addr, func() int {
				if i := next.Add(1); i <= int64(t.People) {
					return int(i)
				}
				return 0
			}, &sent)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return childOutput{}, err
		}
	}
	s := newSide(fmt.Sprintf("raw go-smtp client, %d connections, same message count", t.Conns), UnitMessages, sent.Load(), time.Since(start).Seconds())
	meter.per(&s)
	return single(s), nil
}

// rawSMTPClient sends messages over one connection until next returns 0.
func rawSMTPClient(ctx context.Context, addr string, next func() int, sent *atomic.Int64) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	if err := c.Hello("bench.example"); err != nil {
		return err
	}
	for i := next(); i > 0; i = next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.Mail("hello@bench.example", nil); err != nil {
			return err
		}
		if err := c.Rcpt(fmt.Sprintf("s%d@example.com", i), nil); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(referenceMessage(i)); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		sent.Add(1)
	}
	return c.Quit()
}
