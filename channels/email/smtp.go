package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/tactcdp/tact/channels"
)

// TLSMode selects how the SMTP connection is secured.
type TLSMode string

const (
	// TLSStartTLS upgrades a plain connection with STARTTLS (port 587).
	// Refuses servers that do not offer STARTTLS.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit connects with TLS from the first byte (port 465).
	TLSImplicit TLSMode = "implicit"
	// TLSNone sends in clear text. Allowed only to loopback hosts (tests,
	// a local relay).
	TLSNone TLSMode = "none"
)

// SMTPConfig configures the SMTP adapter.
type SMTPConfig struct {
	// Host is the SMTP server host name. Required.
	Host string
	// Port defaults to 587 for starttls, 465 for implicit and 25 for none.
	Port int
	// TLS defaults to TLSStartTLS.
	TLS TLSMode
	// TLSConfig overrides the TLS settings. Default: ServerName = Host,
	// MinVersion TLS 1.2.
	TLSConfig *tls.Config
	// Username enables AUTH (PLAIN, or LOGIN when the server offers only
	// LOGIN). Empty disables AUTH. AUTH is refused over a clear-text
	// connection.
	Username string
	// Password is the AUTH password (the setup package reads it from the
	// environment variable named in the YAML config).
	Password string
	// LocalName is the EHLO name. Default: Config.MessageIDDomain.
	LocalName string
	// EnvelopeFrom is the MAIL FROM (bounce) address. Default: Config.From.
	EnvelopeFrom string
	// PoolSize is the maximum number of simultaneous connections, and of
	// messages in flight. Default 4.
	PoolSize int
	// MaxMessagesPerConn closes a connection after this many messages (many
	// providers limit it). Default 100; negative means unlimited.
	MaxMessagesPerConn int
	// IdleTimeout: a pooled connection idle for longer is checked with NOOP
	// before reuse and replaced if dead. Default 30s.
	IdleTimeout time.Duration
	// DialTimeout bounds connecting, TLS and greeting. Default 10s.
	DialTimeout time.Duration
	// CommandTimeout bounds each SMTP command. Default 60s.
	CommandTimeout time.Duration
	// RatePerSecond limits messages per second across the pool (0 = none).
	RatePerSecond float64
	// Dial opens the TCP connection. Default: net.Dialer.DialContext.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// SMTP is the SMTP adapter. Close it to release pooled connections.
type SMTP struct {
	cfg     Config
	smtp    SMTPConfig
	addr    string
	limiter *channels.Limiter
	slots   chan struct{}
	idle    chan *pooledConn
	closed  atomic.Bool
	dialed  atomic.Int64
}

type pooledConn struct {
	c        *smtp.Client
	sent     int
	lastUsed time.Time
}

var _ channels.Channel = (*SMTP)(nil)

// NewSMTP returns an SMTP adapter. No connection is opened until the first
// Send.
func NewSMTP(cfg Config, sc SMTPConfig) (*SMTP, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if sc.Host == "" {
		return nil, errors.New("email: SMTP host is required")
	}
	if sc.TLS == "" {
		sc.TLS = TLSStartTLS
	}
	if sc.Port == 0 {
		switch sc.TLS {
		case TLSImplicit:
			sc.Port = 465
		case TLSNone:
			sc.Port = 25
		default:
			sc.Port = 587
		}
	}
	switch sc.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !isLoopback(sc.Host) {
			return nil, fmt.Errorf("email: tls mode none is only allowed for loopback hosts, not %q", sc.Host)
		}
	default:
		return nil, fmt.Errorf("email: unknown tls mode %q", sc.TLS)
	}
	if sc.TLSConfig == nil {
		sc.TLSConfig = &tls.Config{ServerName: sc.Host, MinVersion: tls.VersionTLS12}
	}
	if sc.LocalName == "" {
		sc.LocalName = cfg.MessageIDDomain
	}
	if sc.EnvelopeFrom == "" {
		sc.EnvelopeFrom = cfg.From.Address
	}
	if sc.PoolSize <= 0 {
		sc.PoolSize = 4
	}
	if sc.MaxMessagesPerConn == 0 {
		sc.MaxMessagesPerConn = 100
	}
	if sc.IdleTimeout <= 0 {
		sc.IdleTimeout = 30 * time.Second
	}
	if sc.DialTimeout <= 0 {
		sc.DialTimeout = 10 * time.Second
	}
	if sc.CommandTimeout <= 0 {
		sc.CommandTimeout = 60 * time.Second
	}
	if sc.Dial == nil {
		d := &net.Dialer{}
		sc.Dial = d.DialContext
	}
	return &SMTP{
		cfg:     cfg,
		smtp:    sc,
		addr:    net.JoinHostPort(sc.Host, strconv.Itoa(sc.Port)),
		limiter: channels.NewLimiter(channels.LimiterConfig{PerSecond: sc.RatePerSecond, Now: cfg.Now}),
		slots:   make(chan struct{}, sc.PoolSize),
		idle:    make(chan *pooledConn, sc.PoolSize),
	}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name returns "email".
func (s *SMTP) Name() string { return channels.Email }

// Dialed reports how many connections were opened so far (for tests and
// metrics).
func (s *SMTP) Dialed() int64 { return s.dialed.Load() }

// Send delivers the batch over up to PoolSize connections in parallel.
func (s *SMTP) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	return channels.SendEach(ctx, batch, s.smtp.PoolSize, s.sendOne)
}

func (s *SMTP) sendOne(ctx context.Context, m channels.Message) channels.Result {
	if s.closed.Load() {
		return channels.Transient("closed", channels.ErrClosed)
	}
	msg, err := Compose(&s.cfg, m)
	if err != nil {
		return composeFailure(err)
	}
	if err := s.limiter.Wait(ctx); err != nil {
		return channels.Transient("context", err)
	}
	pc, err := s.acquire(ctx)
	if err != nil {
		return connFailure(err)
	}
	// The consent gate runs as late as possible: right before MAIL FROM.
	if res, ok := channels.CheckGate(ctx, s.cfg.Gate, channels.Email, m); !ok {
		s.release(pc, true)
		return res
	}
	reused := pc.sent > 0
	res, reusable := s.transact(pc, msg)
	s.release(pc, reusable)
	if reused && isStaleConn(res) {
		// The server dropped an idle pooled connection; nothing was
		// transferred, so retry once on a fresh connection.
		if pc, err = s.acquire(ctx); err != nil {
			return connFailure(err)
		}
		res, reusable = s.transact(pc, msg)
		s.release(pc, reusable)
	}
	return res
}

// isStaleConn reports a network failure at MAIL FROM (before any data for
// this message reached the server) or a 421 closing reply there.
func isStaleConn(r channels.Result) bool {
	var pe *channels.ProviderError
	if r.Status != channels.StatusTransient || !errors.As(r.Err, &pe) {
		return false
	}
	return pe.Code == "mail" || strings.HasPrefix(pe.Code, "421")
}

func composeFailure(err error) channels.Result {
	r := channels.Permanent("compose", err)
	switch {
	case errors.Is(err, channels.ErrNoAddress), errors.Is(err, channels.ErrInvalidAddress):
		r.Reason = "invalid_address"
	case errors.Is(err, channels.ErrNoUnsubscribeLink):
		r.Reason = "no_unsubscribe_link"
	case errors.Is(err, channels.ErrRender):
		r.Reason = "render"
	}
	return r
}

// transact runs MAIL/RCPT/DATA and classifies the outcome. reusable reports
// whether the connection is still in a clean state.
func (s *SMTP) transact(pc *pooledConn, msg *Composed) (channels.Result, bool) {
	c := pc.c
	if err := c.Mail(s.smtp.EnvelopeFrom, nil); err != nil {
		// A refused sender is our configuration, not the recipient: retry later.
		return classify(err, "mail", false), resetAfter(c, err)
	}
	if err := c.Rcpt(msg.EnvelopeTo, nil); err != nil {
		return classify(err, "rcpt", true), resetAfter(c, err)
	}
	w, err := c.Data()
	if err != nil {
		return classify(err, "data", true), resetAfter(c, err)
	}
	if _, err := w.Write(msg.Raw); err != nil {
		_ = w.Close()
		return classify(err, "data", true), false
	}
	if _, err := w.CloseWithResponse(); err != nil {
		return classify(err, "data", true), resetAfter(c, err)
	}
	pc.sent++
	return channels.Delivered(msg.MessageID), true
}

// resetAfter issues RSET after a rejected command so the connection can be
// reused; a network error means the connection is gone.
func resetAfter(c *smtp.Client, err error) bool {
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code == 421 {
		return false
	}
	return c.Reset() == nil
}

// classify maps an SMTP failure to a Result. recipientPhase is true for
// RCPT and DATA, where 5xx is a property of this message/recipient.
func classify(err error, phase string, recipientPhase bool) channels.Result {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		pe := &channels.ProviderError{Provider: "smtp", Code: phase, Err: err}
		return channels.Transient("smtp:network", pe)
	}
	code := strconv.Itoa(se.Code)
	if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
		code += fmt.Sprintf(" %d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	permanent := se.Code >= 500 && recipientPhase
	pe := &channels.ProviderError{Provider: "smtp", Code: code, Message: channels.TruncateMessage(se.Message), Permanent: permanent}
	reason := "smtp:" + strconv.Itoa(se.Code)
	if !permanent {
		return channels.Transient(reason, pe)
	}
	r := channels.Permanent(reason, pe)
	r.Suppress = phase == "rcpt" && hardBounce(se)
	return r
}

// hardBounce reports whether an RCPT rejection says the address does not
// exist: enhanced codes 5.1.1 (bad mailbox), 5.1.2 (bad domain), 5.1.3
// (bad syntax), 5.1.6 (moved), 5.1.10 (null MX), or 551/553 without an
// enhanced code. Full mailboxes (5.2.2) and policy rejections (5.7.x) are
// not hard bounces.
func hardBounce(se *smtp.SMTPError) bool {
	ec := se.EnhancedCode
	if ec[0] == 5 && ec[1] == 1 {
		switch ec[2] {
		case 1, 2, 3, 6, 10:
			return true
		}
		return false
	}
	if ec == (smtp.EnhancedCode{}) || ec == smtp.NoEnhancedCode {
		return se.Code == 551 || se.Code == 553
	}
	return false
}

func connFailure(err error) channels.Result {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return channels.Transient("context", err)
	}
	if errors.Is(err, channels.ErrClosed) {
		return channels.Transient("closed", err)
	}
	var pe *channels.ProviderError
	if errors.As(err, &pe) {
		return channels.Transient("smtp:"+pe.Code, err)
	}
	return channels.Transient("smtp:connect", &channels.ProviderError{Provider: "smtp", Code: "connect", Err: err})
}

// acquire returns a ready connection, reusing an idle one when possible.
func (s *SMTP) acquire(ctx context.Context) (*pooledConn, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		select {
		case pc := <-s.idle:
			if s.cfg.Now().Sub(pc.lastUsed) > s.smtp.IdleTimeout {
				if err := pc.c.Noop(); err != nil {
					_ = pc.c.Close()
					continue
				}
			}
			return pc, nil
		default:
		}
		pc, err := s.dial(ctx)
		if err != nil {
			<-s.slots
			return nil, err
		}
		return pc, nil
	}
}

func (s *SMTP) release(pc *pooledConn, reusable bool) {
	defer func() { <-s.slots }()
	if !reusable || s.closed.Load() || (s.smtp.MaxMessagesPerConn > 0 && pc.sent >= s.smtp.MaxMessagesPerConn) {
		if reusable {
			_ = pc.c.Quit()
		}
		_ = pc.c.Close()
		return
	}
	pc.lastUsed = s.cfg.Now()
	select {
	case s.idle <- pc:
	default:
		_ = pc.c.Quit()
	}
}

func (s *SMTP) dial(ctx context.Context) (*pooledConn, error) {
	dctx, cancel := context.WithTimeout(ctx, s.smtp.DialTimeout)
	defer cancel()
	conn, err := s.smtp.Dial(dctx, "tcp", s.addr)
	if err != nil {
		return nil, err
	}
	s.dialed.Add(1)
	// Bound greeting, TLS and EHLO/AUTH by the dial timeout.
	stop := context.AfterFunc(dctx, func() { _ = conn.Close() })
	defer stop()
	var c *smtp.Client
	switch s.smtp.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, s.smtp.TLSConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = conn.Close()
			return nil, err
		}
		c = smtp.NewClient(tc)
		err = c.Hello(s.smtp.LocalName)
	case TLSStartTLS:
		// go-smtp says EHLO localhost before STARTTLS; our name is used
		// for the EHLO over TLS, which is the one that counts.
		c, err = smtp.NewClientStartTLS(conn, s.smtp.TLSConfig)
		if err == nil {
			err = c.Hello(s.smtp.LocalName)
		}
	default:
		c = smtp.NewClient(conn)
		err = c.Hello(s.smtp.LocalName)
	}
	if err != nil {
		if c != nil {
			_ = c.Close()
		} else {
			_ = conn.Close()
		}
		return nil, wrapSetup("hello", err)
	}
	c.CommandTimeout = s.smtp.CommandTimeout
	c.SubmissionTimeout = s.smtp.CommandTimeout
	if s.smtp.Username != "" {
		if _, isTLS := c.TLSConnectionState(); !isTLS && !isLoopback(s.smtp.Host) {
			_ = c.Close()
			return nil, errors.New("email: refusing SMTP AUTH over a clear-text connection")
		}
		var a sasl.Client
		if ok, _ := c.Extension("AUTH"); ok && !c.SupportsAuth("PLAIN") && c.SupportsAuth("LOGIN") {
			a = sasl.NewLoginClient(s.smtp.Username, s.smtp.Password)
		} else {
			a = sasl.NewPlainClient("", s.smtp.Username, s.smtp.Password)
		}
		if err := c.Auth(a); err != nil {
			_ = c.Close()
			return nil, wrapSetup("auth", err)
		}
	}
	if !stop() {
		_ = c.Close()
		return nil, &channels.ProviderError{Provider: "smtp", Code: "connect", Err: dctx.Err()}
	}
	return &pooledConn{c: c, lastUsed: s.cfg.Now()}, nil
}

func wrapSetup(phase string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return &channels.ProviderError{Provider: "smtp", Code: phase + " " + strconv.Itoa(se.Code), Message: channels.TruncateMessage(se.Message)}
	}
	return &channels.ProviderError{Provider: "smtp", Code: phase, Err: err}
}

// Close closes idle connections and makes further sends fail with
// channels.ErrClosed. Connections in use are closed when released.
func (s *SMTP) Close() error {
	s.closed.Store(true)
	for {
		select {
		case pc := <-s.idle:
			_ = pc.c.Quit()
			_ = pc.c.Close()
		default:
			return nil
		}
	}
}

var _ io.Closer = (*SMTP)(nil)
