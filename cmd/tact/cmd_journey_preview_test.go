package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

func TestJourneyPreviewCommand(t *testing.T) {
	t.Parallel()
	env, _ := sampleDB(t)
	_, stderr, code := tact(t, env, "journey", "publish", "../../testdata/journeys/welcome_series.yaml", "--templates", journeyTemplates)
	require.Equal(t, 0, code, stderr)

	stdout, stderr, code := tact(t, env, "journey", "preview", "welcome-series", "--people", "2", "--templates", journeyTemplates)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "journey welcome-series (v1, marketing, segment entry) at 2026-11-01T00:00:00Z")
	require.Contains(t, stdout, "people: 2, members of the entry expression")
	require.Contains(t, stdout, "\nstep welcome: email, template welcome\n")
	require.Contains(t, stdout, "\nstep nudge: email, template winback\n")
	require.Contains(t, stdout, "subject: ")
	require.Regexp(t, `\n\d of 4 sends would go\n$`, stdout)

	stdout, stderr, code = tact(t, env, "journey", "preview", "welcome-series", "--json", "--templates", journeyTemplates)
	require.Equal(t, 0, code, stderr)
	var p struct {
		People []int64 `json:"people"`
		Steps  []struct {
			Step  string `json:"step"`
			Sends []struct {
				ProfileID int64  `json:"profile_id"`
				Text      string `json:"text"`
			} `json:"sends"`
		} `json:"steps"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &p))
	require.Len(t, p.People, 3, "three people by default")
	require.Len(t, p.Steps, 2)
	require.Len(t, p.Steps[0].Sends, 3)
	require.Contains(t, p.Steps[0].Sends[0].Text, "/unsubscribe?token=", "the links the email channel adds")

	// Nothing entered, queued or sent; the reads are audited.
	stdout, stderr, code = tact(t, env, "journey", "stats", "welcome-series", "--json")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, `"entered": 0`)
	stdout, _, code = tact(t, env, "audit", "log")
	require.Equal(t, 0, code)
	require.Equal(t, 5, strings.Count(stdout, "journey preview"), "one admin read per person previewed")

	// A file is previewed without publishing; a blank field is flagged
	// and the command still succeeds.
	dir := t.TempDir()
	tpl := filepath.Join(dir, "templates")
	require.NoError(t, os.MkdirAll(tpl, 0o755))
	write(t, tpl, "nick.email.html", "---\npurpose: marketing\nsubject: \"Hey {{ .traits.nickname }}\"\n---\n<p>Hey {{ .traits.nickname }}</p><a href=\"{{ .unsubscribe_url }}\">Unsubscribe</a>\n")
	file := write(t, dir, "nick.yaml", "name: nick\npurpose: marketing\nentry: api\nsteps:\n  - id: hey\n    send: {channel: email, template: nick}\n")
	stdout, stderr, code = tact(t, env, "journey", "preview", file, "--people", "1", "--templates", tpl)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "journey nick (file, not published, marketing, api entry)")
	require.Contains(t, stdout, "WOULD NOT SEND: field traits.nickname missing")
	require.Contains(t, stdout, "0 of 1 sends would go; 1 WOULD NOT RENDER")

	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"journey", "preview", "nope"}, 1, `no journey named "nope"`},
		{[]string{"journey", "preview", "welcome-series", "--people", "0"}, 2, "--people must be at least 1, got 0"},
		{[]string{"journey", "preview"}, 2, "usage: tact journey preview FILE|NAME"},
		{[]string{"journey", "test-send", "welcome-series"}, 2, "--to ADDRESS is required"},
	} {
		_, stderr, code := tact(t, env, append(tc.args, "--templates", journeyTemplates)...)
		require.Equal(t, tc.code, code, stderr)
		require.Contains(t, stderr, tc.says)
	}
}

// TestJourneyTestSendOverSMTP runs under the real clock: one labelled
// message reaches the seed address over a real SMTP conversation on
// loopback; a suppressed seed address is refused before any connection.
func TestJourneyTestSendOverSMTP(t *testing.T) {
	t.Parallel()
	sink := startSMTPSink(t)
	dir := t.TempDir()
	env := map[string]string{"TACT_DB": filepath.Join(dir, "t.duckdb"), "TACT_LINK_SECRET": strings.Repeat("s", 32)}
	tpl := filepath.Join(dir, "templates")
	require.NoError(t, os.MkdirAll(tpl, 0o755))
	write(t, tpl, "hello.email.html", "---\npurpose: marketing\nsubject: \"Hello {{ .traits.first_name }}\"\n---\n<p>Hi {{ .traits.first_name }}</p><a href=\"{{ .unsubscribe_url }}\">Unsubscribe</a>\n")
	cfg := write(t, dir, "tact.yaml", fmt.Sprintf(`channels:
  templates: {dir: %s}
  links: {base_url: https://prefs.example.com, keys: ["env:TACT_LINK_SECRET"]}
  email:
    provider: smtp
    from: {name: Example Shop, address: news@example.com}
    smtp: {host: 127.0.0.1, port: %d, tls: none}
`, tpl, sink.port))
	crm := write(t, dir, "crm.csv", "user_id,email,first_name\nu1,ann@example.com,Ann\nu2,bob@example.com,\n")
	journey := write(t, dir, "hello.yaml", "name: hello\npurpose: marketing\nentry: api\nsteps:\n  - id: hi\n    send: {channel: email, template: hello}\n")
	for _, args := range [][]string{{"import", "profiles", crm}, {"journey", "publish", journey}} {
		_, stderr, code := tact(t, env, append([]string{"--config", cfg}, args...)...)
		require.Equal(t, 0, code, stderr)
	}

	stdout, stderr, code := tact(t, env, "--config", cfg, "journey", "test-send", "hello", "--to", "seed@example.com", "--user", "u1")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "sent one test email of hello/hi")
	got := sink.messages()
	require.Len(t, got, 1)
	require.Equal(t, []string{"seed@example.com"}, got[0].to, "only the seed address, never ann@example.com")
	require.Contains(t, got[0].data, "Subject: [TEST] Hello Ann\r\n")
	require.NotContains(t, got[0].data, "ann@example.com")
	require.Regexp(t, `List-Unsubscribe: <https://[^>]*/unsubscribe\?test=1>`, got[0].data,
		"the seed gets an inert link: it cannot unsubscribe Ann")
	require.NotContains(t, got[0].data, "token=", "no link in a test send acts for the person")

	st, err := engine.Open(context.Background(), env["TACT_DB"], engine.Options{})
	require.NoError(t, err)
	require.NoError(t, st.Suppress(context.Background(), "email", "bounced@example.com", engine.SuppressHardBounce, "test"))
	require.NoError(t, st.Close())

	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--to", "Bounced@example.com"}, "the email address given is on the suppression list (hard_bounce)"},
		{[]string{"--to", "seed@example.com", "--user", "u2"}, "message would not render: field traits.first_name missing"},
		{[]string{"--to", "seed@example.com", "--step", "nope"}, "test send hello step nope: no such send step: send steps: hi"},
	} {
		_, stderr, code = tact(t, env, append([]string{"--config", cfg, "journey", "test-send", "hello"}, tc.args...)...)
		require.Equal(t, 1, code)
		require.Contains(t, stderr, tc.says)
	}
	require.Len(t, sink.messages(), 1, "no refused test send reached the server")

	stdout, stderr, code = tact(t, env, "--config", cfg, "journey", "stats", "hello", "--json")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, `"entered": 0`)
	require.NotContains(t, stdout, `"sent": 1`)
	stdout, _, code = tact(t, env, "--config", cfg, "audit", "log")
	require.Equal(t, 0, code)
	require.Equal(t, 1, strings.Count(stdout, "journey.test_send"))
	require.NotContains(t, stdout, "seed@example.com", "the audit log keeps a keyed hash of the seed address")
}

// smtpSink is a real SMTP server on loopback that keeps what it receives.
type smtpSink struct {
	port int
	mu   sync.Mutex
	got  []sinkMessage
}

type sinkMessage struct {
	to   []string
	data string
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &smtpSink{port: l.Addr().(*net.TCPAddr).Port}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *smtpSink) messages() []sinkMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkMessage(nil), s.got...)
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

type sinkSession struct {
	sink *smtpSink
	cur  sinkMessage
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.sink.mu.Lock()
	s.sink.got = append(s.sink.got, s.cur)
	s.sink.mu.Unlock()
	s.cur = sinkMessage{}
	return nil
}

func (s *sinkSession) Reset()        { s.cur = sinkMessage{} }
func (s *sinkSession) Logout() error { return nil }
