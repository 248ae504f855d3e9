package journeys

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/email"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/templates"
)

// smtpSink is a loopback SMTP server that de-duplicates by the X-Tact-Key
// header (the idempotency key) and counts duplicates offered.
type smtpSink struct {
	mu       sync.Mutex
	seen     map[string]int
	offered  int
	discard  bool // count only, keep no keys (benchmarks)
	addr     string
	srv      *smtp.Server
	noHeader int
}

func startSink(t testing.TB, discard bool) *smtpSink {
	t.Helper()
	s := &smtpSink{seen: map[string]int{}, discard: discard}
	srv := smtp.NewServer(s)
	srv.Domain = "sink.test"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 4 << 20
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.ErrorLog = nopLog{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.addr, s.srv = ln.Addr().String(), srv
	return s
}

type nopLog struct{}

func (nopLog) Printf(string, ...interface{}) {}
func (nopLog) Println(...interface{})        {}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

// stats returns unique keys and duplicates offered.
func (s *smtpSink) stats() (unique, duplicates int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen), s.offered - len(s.seen) - s.noHeader
}

func (s *smtpSink) keys() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.seen))
	for k, v := range s.seen {
		out[k] = v
	}
	return out
}

type sinkSession struct{ s *smtpSink }

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Reset()                               {}
func (ss *sinkSession) Logout() error                        { return nil }

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	key := ""
	if i := bytes.Index(b, []byte("\r\n\r\n")); i > 0 {
		h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(b[:i+4]))).ReadMIMEHeader()
		if err == nil {
			key = h.Get("X-Tact-Key")
		}
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.offered++
	if key == "" {
		ss.s.noHeader++
		return nil
	}
	if ss.s.discard {
		return nil
	}
	ss.s.seen[key]++
	return nil
}

// testEmailTemplates is two marketing email templates.
func testEmailTemplates() (*templates.Set, error) {
	var ts []*templates.Template
	for _, name := range []string{"welcome", "followup"} {
		tpl, err := templates.New(name, templates.ChannelEmail, name+".email.html", `---
purpose: marketing
subject: "Hello {{ .traits.first_name | default \"friend\" }}"
---
<p>Hi {{ .traits.first_name | default "there" }}</p>
<p><a href="{{ .unsubscribe_url }}">Unsubscribe</a></p>
`, true, "", "")
		if err != nil {
			return nil, err
		}
		ts = append(ts, tpl)
	}
	return templates.NewSet(ts...)
}

// buildSMTP is channels/email's SMTP adapter to addr with the gate.
func buildSMTP(addr string, gate channels.Gate, pool int) (*email.SMTP, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	set, err := testEmailTemplates()
	if err != nil {
		return nil, err
	}
	signer, err := linktoken.New(linktoken.Config{Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	if err != nil {
		return nil, err
	}
	return email.NewSMTP(email.Config{
		From:      email.Address{Name: "Tact", Address: "hello@tact.example"},
		Templates: set,
		Links:     linktoken.Links{BaseURL: "https://prefs.tact.example", Signer: signer},
		Gate:      gate,
	}, email.SMTPConfig{Host: host, Port: p, TLS: email.TLSNone, PoolSize: pool, MaxMessagesPerConn: -1})
}

var _ = context.Background
