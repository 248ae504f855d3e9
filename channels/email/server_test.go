package email

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// received is one message as the test SMTP server saw it.
type received struct {
	From string
	To   []string
	Data []byte
	User string
}

// testBackend is a real go-smtp server backend that records messages and
// rejects some recipients the way real servers do.
type testBackend struct {
	mu       sync.Mutex
	msgs     []received
	sessions int
	discard  bool          // benchmark mode: count only
	latency  time.Duration // benchmark mode: simulated server latency per message
	count    int
	user     string
	pass     string
}

func (b *testBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	return &testSession{b: b}, nil
}

func (b *testBackend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type testSession struct {
	b    *testBackend
	cur  received
	user string
}

func (s *testSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.b.user || password != s.b.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.user = username
		return nil
	}), nil
}

func (s *testSession) Mail(from string, opts *smtp.MailOptions) error {
	if s.b.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur = received{From: from, User: s.user}
	return nil
}

var rcptErrors = map[string]*smtp.SMTPError{
	"unknown@example.net": {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "User unknown"},
	"full@example.net":    {Code: 552, EnhancedCode: smtp.EnhancedCode{5, 2, 2}, Message: "Mailbox full"},
	"later@example.net":   {Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"},
	"policy@example.net":  {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Rejected by policy"},
	"nodomain@invalid":    {Code: 553, EnhancedCode: smtp.NoEnhancedCode, Message: "Domain does not exist"},
}

func (s *testSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	if e, ok := rcptErrors[to]; ok {
		return e
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	if s.b.discard {
		_, err := io.Copy(io.Discard, r)
		if s.b.latency > 0 {
			// Simulates a remote MTA (network round trips, queue fsync).
			time.Sleep(s.b.latency)
		}
		s.b.mu.Lock()
		s.b.count++
		s.b.mu.Unlock()
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(s.cur.To) == 1 && s.cur.To[0] == "spam@example.net" {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message content rejected"}
	}
	s.cur.Data = b
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *testSession) Reset()        { s.cur = received{} }
func (s *testSession) Logout() error { return nil }

type serverOpts struct {
	tls     string // "", "starttls", "implicit"
	user    string
	pass    string
	discard bool
	latency time.Duration
}

type testServer struct {
	addr    *net.TCPAddr
	backend *testBackend
	roots   *x509.CertPool
}

func startServer(t testing.TB, o serverOpts) *testServer {
	t.Helper()
	be := &testBackend{user: o.user, pass: o.pass, discard: o.discard, latency: o.latency}
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = o.tls == ""
	srv.ErrorLog = nopLogger{}
	srv.MaxMessageBytes = 10 << 20
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	var roots *x509.CertPool
	var ln net.Listener
	var err error
	if o.tls != "" {
		cert, pool := selfSigned(t)
		roots = pool
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if o.tls == "implicit" {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &testServer{addr: ln.Addr().(*net.TCPAddr), backend: be, roots: roots}
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...interface{}) {}
func (nopLogger) Println(...interface{})        {}

func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// headerBlock returns the raw header section of a message.
func headerBlock(raw []byte) string {
	s := string(raw)
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		return s[:i+2]
	}
	return s
}

var errNotFound = errors.New("not found")

// rawHeader returns the unfolded raw value of the first header named key.
func rawHeader(raw []byte, key string) (string, error) {
	lines := strings.Split(headerBlock(raw), "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.ToLower(l), strings.ToLower(key)+":") {
			v := l[len(key)+1:]
			for j := i + 1; j < len(lines) && (strings.HasPrefix(lines[j], " ") || strings.HasPrefix(lines[j], "\t")); j++ {
				v += lines[j]
			}
			return strings.TrimSpace(v), nil
		}
	}
	return "", errNotFound
}
