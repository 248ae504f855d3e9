package benchmark

import (
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// smtpSink is a loopback SMTP server that accepts every message and
// discards it, counting what it received. It runs in the parent, so
// neither side's memory includes it.
type smtpSink struct {
	srv      *smtp.Server
	addr     string
	messages atomic.Int64
}

func startSMTPSink() (*smtpSink, error) {
	s := &smtpSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sinkSession{s}, nil }))
	srv.Domain = "sink.bench"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 4 << 20
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.ErrorLog = quietLog{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.Serve(ln) }()
	s.srv, s.addr = srv, ln.Addr().String()
	return s, nil
}

func (s *smtpSink) close() { _ = s.srv.Close() }

type sinkSession struct{ s *smtpSink }

func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (sinkSession) Reset()                               {}
func (sinkSession) Logout() error                        { return nil }

func (ss sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	ss.s.messages.Add(1)
	return nil
}

type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}
