package email

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/templates"
)

var (
	testNow = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	testKey = bytes.Repeat([]byte("0123456789abcdef"), 2)
)

func testTemplates(t testing.TB) *templates.Set {
	t.Helper()
	s, err := templates.Load(filepath.Join("..", "..", "testdata", "templates"))
	require.NoError(t, err)
	return s
}

func testSigner(t testing.TB, now time.Time) *linktoken.Signer {
	t.Helper()
	s, err := linktoken.New(linktoken.Config{Keys: [][]byte{testKey}, Now: func() time.Time { return now }})
	require.NoError(t, err)
	return s
}

func testConfig(t testing.TB) Config {
	return Config{
		From:      Address{Name: "ร้านกาแฟ Tact", Address: "hello@coffee.example.com"},
		Templates: testTemplates(t),
		Links:     linktoken.Links{BaseURL: "https://prefs.example.com", Signer: testSigner(t, testNow)},
		Now:       func() time.Time { return testNow },
	}
}

func welcome(to string, profile int64) channels.Message {
	return channels.Message{
		IdempotencyKey: channels.NewIdempotencyKey("welcome", 1, "send_welcome", profile, testNow),
		ProfileID:      profile, Journey: "welcome", JourneyVersion: 1, Step: "send_welcome",
		Purpose: "marketing", To: to, ToName: "สมชาย ใจดี", Timezone: "Asia/Bangkok", Template: "welcome",
		Traits: map[string]any{"first_name": "สมชาย", "signup_at": testNow.Add(-24 * time.Hour)},
	}
}

func receipt(to string) channels.Message {
	return channels.Message{
		IdempotencyKey: channels.NewIdempotencyKey("orders", 3, "receipt", 5, testNow),
		ProfileID:      5, Journey: "orders", Step: "receipt", Purpose: "transactional", Transactional: true,
		To: to, Template: "receipt", Timezone: "Asia/Bangkok",
		Traits:  map[string]any{"first_name": "Anan"},
		Payload: map[string]any{"order_id": "A-1", "currency": "THB", "total": 240, "ordered_at": testNow, "items": []any{}},
	}
}

func newSMTP(t testing.TB, srv *testServer, mut func(*Config, *SMTPConfig)) *SMTP {
	t.Helper()
	cfg := testConfig(t)
	sc := SMTPConfig{Host: "127.0.0.1", Port: srv.addr.Port, TLS: TLSNone, PoolSize: 2}
	if srv.roots != nil {
		sc.TLSConfig = &tls.Config{RootCAs: srv.roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	}
	if mut != nil {
		mut(&cfg, &sc)
	}
	s, err := NewSMTP(cfg, sc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSMTPMarketingOneClickThaiDKIM(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOpts{tls: "starttls", user: "tact", pass: "s3cret"})
	dkimKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	s := newSMTP(t, srv, func(c *Config, sc *SMTPConfig) {
		sc.TLS = TLSStartTLS
		sc.Username, sc.Password = "tact", "s3cret"
		c.DKIM = &DKIMConfig{Domain: "coffee.example.com", Selector: "tact1", Signer: dkimKey}
	})
	res := s.Send(context.Background(), []channels.Message{welcome("Somchai@Example.NET ", 42)})
	require.Len(t, res, 1)
	require.Equal(t, channels.StatusDelivered, res[0].Status, "%v", res[0].Err)

	got := srv.backend.messages()
	require.Len(t, got, 1)
	m := got[0]
	require.Equal(t, "hello@coffee.example.com", m.From)
	require.Equal(t, []string{"somchai@example.net"}, m.To)
	require.Equal(t, "tact", m.User)

	// RFC 8058 headers, byte for byte.
	hdr := headerBlock(m.Data)
	require.Contains(t, hdr, "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
	lu, err := rawHeader(m.Data, "List-Unsubscribe")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(lu, "<https://prefs.example.com/unsubscribe?token="), lu)
	require.True(t, strings.HasSuffix(lu, ">"))
	token := strings.TrimSuffix(strings.TrimPrefix(lu, "<https://prefs.example.com/unsubscribe?token="), ">")

	// The unsubscribe handler's verification accepts the token ...
	claims, err := testSigner(t, testNow.Add(59*24*time.Hour)).Verify(token)
	require.NoError(t, err)
	require.Equal(t, linktoken.Claims{ProfileID: 42, Purpose: "marketing", Channel: "email", IssuedAt: testNow, ExpiresAt: testNow.Add(linktoken.DefaultTTL)}, claims)
	// ... and refuses it once expired, or forged.
	_, err = testSigner(t, testNow.Add(linktoken.DefaultTTL+time.Second)).Verify(token)
	require.ErrorIs(t, err, linktoken.ErrExpired)
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	raw[2] ^= 1 // another profile id
	_, err = testSigner(t, testNow).Verify(base64.RawURLEncoding.EncodeToString(raw))
	require.ErrorIs(t, err, linktoken.ErrInvalidSignature)

	// Thai subject and display names survive RFC 2047.
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	require.NoError(t, err)
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "ยินดีต้อนรับสู่ Tact Coffee, สมชาย!", subj)
	rawSubj, _ := rawHeader(m.Data, "Subject")
	require.True(t, strings.HasPrefix(rawSubj, "=?utf-8?b?"), rawSubj)
	from, err := (&mail.AddressParser{WordDecoder: dec}).Parse(msg.Header.Get("From"))
	require.NoError(t, err)
	require.Equal(t, &mail.Address{Name: "ร้านกาแฟ Tact", Address: "hello@coffee.example.com"}, from)
	to, err := (&mail.AddressParser{WordDecoder: dec}).Parse(msg.Header.Get("To"))
	require.NoError(t, err)
	require.Equal(t, "สมชาย ใจดี", to.Name)
	require.Equal(t, "<"+res[0].ProviderMessageID+">", msg.Header.Get("Message-ID"))
	require.Equal(t, "Sat, 01 Mar 2025 09:30:00 +0000", msg.Header.Get("Date"))
	require.Equal(t, welcome("", 42).IdempotencyKey, msg.Header.Get("X-Tact-Key"))

	// multipart/alternative: text then HTML, both with the visible link.
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []string
	var types []string
	for {
		p, err := mr.NextPart() // decodes quoted-printable; base64 below
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			b, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", ""))
			require.NoError(t, err)
		}
		parts = append(parts, string(b))
		types = append(types, p.Header.Get("Content-Type"))
	}
	require.Equal(t, []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}, types)
	link := "https://prefs.example.com/unsubscribe?token=" + token
	require.Contains(t, parts[0], "ยกเลิกการรับอีเมล / Unsubscribe ("+link+")")
	require.Contains(t, parts[1], `<a href="`+link+`">`)
	require.Contains(t, parts[1], "สวัสดีค่ะ คุณสมชาย")
	require.Contains(t, parts[1], "รับส่วนลด 10%") // preheader

	// DKIM verifies and covers the one-click headers.
	pub, err := x509.MarshalPKIXPublicKey(&dkimKey.PublicKey)
	require.NoError(t, err)
	txt := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(m.Data), &dkim.VerifyOptions{LookupTXT: func(domain string) ([]string, error) {
		require.Equal(t, "tact1._domainkey.coffee.example.com", domain)
		return []string{txt}, nil
	}})
	require.NoError(t, err)
	require.Len(t, vs, 1)
	require.NoError(t, vs[0].Err)
	require.Equal(t, "coffee.example.com", vs[0].Domain)
	keys := strings.ToLower(strings.Join(vs[0].HeaderKeys, ":"))
	require.Contains(t, keys, "list-unsubscribe:list-unsubscribe-post")
	// Tampering with the unsubscribe header breaks the signature.
	tampered := bytes.Replace(m.Data, []byte("unsubscribe?token="), []byte("unsubscribe?token=X"), 1)
	vs, err = dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) { return []string{txt}, nil }})
	require.NoError(t, err)
	require.Error(t, vs[0].Err)
}

func TestComposeHeadersGolden(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	require.NoError(t, cfg.setDefaults())
	m := receipt("anan@example.net")
	c, err := Compose(&cfg, m)
	require.NoError(t, err)
	id := MessageID(m.IdempotencyKey, "coffee.example.com")
	want := "Date: Sat, 01 Mar 2025 09:30:00 +0000\r\n" +
		"From: =?utf-8?b?4Lij4LmJ4Liy4LiZ4LiB4Liy4LmB4LifIFRhY3Q=?=\r\n" +
		" <hello@coffee.example.com>\r\n" +
		"To: <anan@example.net>\r\n" +
		"Subject: =?utf-8?b?4LmD4Lia4LmA4Liq4Lij4LmH4LiI4LiE4Liz4Liq4Lix4LmI4LiH4LiL?=\r\n" +
		" =?utf-8?b?4Li34LmJ4LitICNBLTEgLyBZb3VyIHJlY2VpcHQ=?=\r\n" +
		"Message-ID: <" + id + ">\r\n" +
		"MIME-Version: 1.0\r\n" +
		"X-Tact-Key: " + m.IdempotencyKey + "\r\n" +
		`Content-Type: multipart/alternative; boundary="` + boundaryFor(id) + "\"\r\n"
	require.Equal(t, want, headerBlock(c.Raw))
	for _, line := range strings.Split(headerBlock(c.Raw), "\r\n") {
		require.LessOrEqual(t, len(line), 78, line)
	}
	require.NotContains(t, string(c.Raw), "List-Unsubscribe")
	require.Empty(t, c.UnsubscribeToken)
	// Same key, same Message-ID: a retry is recognisable downstream.
	c2, err := Compose(&cfg, m)
	require.NoError(t, err)
	require.Equal(t, c.Raw, c2.Raw)
}

func TestComposeRefusals(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	require.NoError(t, cfg.setDefaults())
	noLinks := cfg
	noLinks.Links = linktoken.Links{}
	tests := []struct {
		name string
		cfg  *Config
		m    channels.Message
		want error
	}{
		{"marketing without link config", &noLinks, welcome("a@example.net", 1), channels.ErrNoUnsubscribeLink},
		{"bad address", &cfg, welcome("not an address", 1), channels.ErrInvalidAddress},
		{"empty address", &cfg, welcome("", 1), channels.ErrNoAddress},
		{"non-ascii address", &cfg, welcome("สมชาย@example.net", 1), channels.ErrInvalidAddress},
		{"marketing message, transactional template", &cfg, func() channels.Message {
			m := receipt("a@example.net")
			m.Transactional = false
			m.Purpose = "marketing"
			return m
		}(), channels.ErrRender},
		{"unknown template", &cfg, func() channels.Message { m := welcome("a@example.net", 1); m.Template = "nope"; return m }(), channels.ErrRender},
		{"sms template", &cfg, func() channels.Message { m := welcome("a@example.net", 1); m.Template = "flash_sale"; return m }(), channels.ErrRender},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compose(tc.cfg, tc.m)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestSMTPErrorMapping(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOpts{})
	s := newSMTP(t, srv, func(_ *Config, sc *SMTPConfig) { sc.PoolSize = 1 })
	spam := receipt("spam@example.net")
	batch := []channels.Message{
		receipt("ok@example.net"),
		receipt("unknown@example.net"),
		receipt("full@example.net"),
		receipt("later@example.net"),
		receipt("policy@example.net"),
		receipt("nodomain@invalid"),
		spam,
		receipt("bad address"),
		receipt("ok3@example.net"),
	}
	want := []struct {
		status   channels.Status
		suppress bool
		reason   string
	}{
		{channels.StatusDelivered, false, ""},
		{channels.StatusPermanent, true, "smtp:550"},
		{channels.StatusPermanent, false, "smtp:552"},
		{channels.StatusTransient, false, "smtp:451"},
		{channels.StatusPermanent, false, "smtp:550"},
		{channels.StatusPermanent, true, "smtp:553"},
		{channels.StatusPermanent, false, "smtp:554"},
		{channels.StatusPermanent, false, "invalid_address"},
		{channels.StatusDelivered, false, ""},
	}
	res := s.Send(context.Background(), batch)
	require.Len(t, res, len(batch))
	for i, w := range want {
		require.Equal(t, w.status, res[i].Status, "message %d: %v", i, res[i].Err)
		require.Equal(t, w.suppress, res[i].Suppress, "message %d", i)
		require.Equal(t, w.reason, res[i].Reason, "message %d", i)
	}
	var pe *channels.ProviderError
	require.ErrorAs(t, res[1].Err, &pe)
	require.Equal(t, "550 5.1.1", pe.Code)
	require.True(t, pe.Permanent)
	require.NotContains(t, res[1].Err.Error(), "unknown@example.net", "no personal data in errors")
	// Rejections reset the transaction; one connection carried everything.
	require.EqualValues(t, 1, s.Dialed())
	require.Len(t, srv.backend.messages(), 2)

	// Feedback from results: the hard bounces become suppressions.
	fbs := channels.ResultFeedback(channels.Email, batch[1], res[1], testNow)
	require.Len(t, fbs, 1)
	require.Equal(t, channels.FeedbackBounceHard, fbs[0].Kind)
	require.Equal(t, "unknown@example.net", fbs[0].Address)
}

func TestSMTPPool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		pool, max  int
		n          int
		wantDialed int64
	}{
		{"single connection reused", 1, 0, 20, 1},
		{"pool of 3", 3, 0, 30, 3},
		{"max messages per connection", 1, 5, 20, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, serverOpts{})
			s := newSMTP(t, srv, func(_ *Config, sc *SMTPConfig) { sc.PoolSize, sc.MaxMessagesPerConn = tc.pool, tc.max })
			batch := make([]channels.Message, tc.n)
			for i := range batch {
				batch[i] = receipt(fmt.Sprintf("p%d@example.net", i))
			}
			res := s.Send(context.Background(), batch)
			for i, r := range res {
				require.Equal(t, channels.StatusDelivered, r.Status, "%d: %v", i, r.Err)
			}
			require.Len(t, srv.backend.messages(), tc.n)
			if tc.pool == 1 {
				require.Equal(t, tc.wantDialed, s.Dialed())
			} else {
				require.LessOrEqual(t, s.Dialed(), tc.wantDialed)
			}
			// Order of results follows the batch.
			for i, m := range srv.backend.messages() {
				_ = i
				require.Len(t, m.To, 1)
			}
		})
	}
}

func TestSMTPImplicitTLSAndAuthFailure(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOpts{tls: "implicit", user: "u", pass: "p"})
	good := newSMTP(t, srv, func(_ *Config, sc *SMTPConfig) { sc.TLS, sc.Username, sc.Password = TLSImplicit, "u", "p" })
	res := good.Send(context.Background(), []channels.Message{receipt("a@example.net")})
	require.Equal(t, channels.StatusDelivered, res[0].Status, "%v", res[0].Err)

	bad := newSMTP(t, srv, func(_ *Config, sc *SMTPConfig) { sc.TLS, sc.Username, sc.Password = TLSImplicit, "u", "wrong" })
	res = bad.Send(context.Background(), []channels.Message{receipt("a@example.net")})
	require.Equal(t, channels.StatusTransient, res[0].Status)
	require.Contains(t, res[0].Err.Error(), "auth 535")

	// STARTTLS refused by a server that does not offer it.
	plain := startServer(t, serverOpts{})
	st := newSMTP(t, plain, func(_ *Config, sc *SMTPConfig) { sc.TLS = TLSStartTLS })
	res = st.Send(context.Background(), []channels.Message{receipt("a@example.net")})
	require.Equal(t, channels.StatusTransient, res[0].Status)
	require.Contains(t, res[0].Err.Error(), "STARTTLS")

	// Nothing listening: transient network failure.
	down := newSMTP(t, &testServer{addr: plain.addr}, func(_ *Config, sc *SMTPConfig) { sc.Port = 1 })
	res = down.Send(context.Background(), []channels.Message{receipt("a@example.net")})
	require.Equal(t, channels.StatusTransient, res[0].Status)
	require.Equal(t, "smtp:connect", res[0].Reason)

	_, err := NewSMTP(testConfig(t), SMTPConfig{Host: "smtp.example.com", TLS: TLSNone})
	require.ErrorContains(t, err, "loopback")
}

func TestSMTPGateAndCancel(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOpts{})
	s := newSMTP(t, srv, func(c *Config, _ *SMTPConfig) {
		c.Gate = channels.GateFunc(func(_ context.Context, ch string, m channels.Message) (string, error) {
			require.Equal(t, channels.Email, ch)
			if m.ProfileID == 13 {
				return "consent_withdrawn", nil
			}
			return "", nil
		})
	})
	res := s.Send(context.Background(), []channels.Message{welcome("a@example.net", 12), welcome("b@example.net", 13)})
	require.Equal(t, channels.StatusDelivered, res[0].Status, "%v", res[0].Err)
	require.Equal(t, channels.StatusSkipped, res[1].Status)
	require.Equal(t, "gate:consent_withdrawn", res[1].Reason)
	require.Len(t, srv.backend.messages(), 1)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = s.Send(ctx, []channels.Message{welcome("a@example.net", 12)})
	require.Equal(t, channels.StatusTransient, res[0].Status)
	require.ErrorIs(t, res[0].Err, context.Canceled)
}

func TestFileAdapter(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "outbox")
	edKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	cfg := testConfig(t)
	cfg.DKIM = &DKIMConfig{Domain: "coffee.example.com", Selector: "ed", Signer: edKey}
	f, err := NewFile(cfg, FileConfig{Dir: dir})
	require.NoError(t, err)
	batch := []channels.Message{welcome("a@example.net", 1), receipt("b@example.net"), welcome("a@example.net", 1)}
	res := f.Send(context.Background(), batch)
	for _, r := range res {
		require.Equal(t, channels.StatusDelivered, r.Status, "%v", r.Err)
	}
	require.Equal(t, res[0].ProviderMessageID, res[2].ProviderMessageID)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "the retried send overwrote its file")
	b, err := os.ReadFile(f.PathFor(res[0].ProviderMessageID))
	require.NoError(t, err)
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, "List-Unsubscribe=One-Click", msg.Header.Get("List-Unsubscribe-Post"))
	txt := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(edKey.Public().(ed25519.PublicKey))
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(b), &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) { return []string{txt}, nil }})
	require.NoError(t, err)
	require.NoError(t, vs[0].Err)
}

func TestHeaderFolding(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Hello", "Subject: Hello\r\n"},
		{strings.Repeat("word ", 20), "Subject: word word word word word word word word word word word word word word\r\n word word word word word word \r\n"},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		writeHeader(&b, "Subject", tc.in)
		require.Equal(t, tc.want, b.String())
	}
	// Long Thai subjects: every encoded word decodes, lines stay short.
	subj := strings.Repeat("ลดราคาพิเศษ ", 12)
	var b bytes.Buffer
	writeHeader(&b, "Subject", encodeText(subj))
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n") {
		require.LessOrEqual(t, len(l), 78)
	}
	got, err := new(mime.WordDecoder).DecodeHeader(strings.ReplaceAll(strings.TrimPrefix(b.String(), "Subject: "), "\r\n", ""))
	require.NoError(t, err)
	require.Equal(t, strings.TrimSpace(subj), strings.TrimSpace(got))
}
