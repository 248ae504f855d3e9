package benchmark

import (
	"bytes"
	"context"
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
	tpl, err := templates.New("welcome", templates.ChannelEmail, "welcome.email.html", welcomeTemplate, true, "", "")
	if err != nil {
		return nil, err
	}
	set, err := templates.NewSet(tpl)
	if err != nil {
		return nil, err
	}
	signer, err := linktoken.New(linktoken.Config{Keys: [][]byte{bytes.Repeat([]byte("b"), 32)}})
	if err != nil {
		return nil, err
	}
	return email.NewSMTP(email.Config{
		From:      email.Address{Name: "Tact bench", Address: "hello@bench.example"},
		Templates: set,
		Links:     linktoken.Links{BaseURL: "https://prefs.bench.example", Signer: signer},
		Gate:      gate,
	}, email.SMTPConfig{Host: host, Port: p, TLS: email.TLSNone, PoolSize: conns, MaxMessagesPerConn: -1})
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

// referenceMessage is a MIME message of about the adapter's size.
func referenceMessage(i int) []byte {
	return fmt.Appendf(nil, "From: Tact bench <hello@bench.example>\r\nTo: s%d@example.com\r\nSubject: Hello Person%d\r\n"+
		"Message-ID: <ref-%d@bench.example>\r\nDate: %s\r\nMIME-Version: 1.0\r\n"+
		"List-Unsubscribe: <https://prefs.bench.example/u/0123456789abcdef0123456789abcdef0123456789abcdef>\r\n"+
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"+
		"<p>Hi Person%d</p>\r\n<p>Our autumn collection is here: take a look before it is gone.</p>\r\n"+
		"<p><a href=\"https://prefs.bench.example/u/0123456789abcdef0123456789abcdef0123456789abcdef\">Unsubscribe</a></p>\r\n",
		i, i, i, time.Now().UTC().Format(time.RFC1123Z), i)
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
