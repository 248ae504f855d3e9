package server

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/journeys"
)

func TestConsolePreview(t *testing.T) {
	e := consoleEnv(t)
	id := e.person(map[string]any{"user_id": "ada", "email": "ada@example.com", "plan": "pro", "first_name": "Ada"}, "marketing/email")
	e.person(map[string]any{"user_id": "bob", "email": "bob@example.com", "loyalty_tier": "gold", "signup_at": "2026-01-05T10:00:00Z"})
	u := signIn(t, e, tokMarketer)
	code, body, _ := u.do(http.MethodGet, "/console/preview?template=welcome&person=ada", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "List-Unsubscribe-Post")
	require.Contains(t, body, "One-Click")
	require.Contains(t, body, `sandbox=""`)
	require.Contains(t, body, "eligible")
	require.Contains(t, body, "<code>loyalty_tier</code>", "an empty field is flagged")
	require.Contains(t, body, "<code>signup_at</code>", "a date field too")
	require.NotContains(t, body, "<code>first_name</code>")
	require.NotContains(t, body, "ada@example.com")
	_ = id
	code, body, _ = u.do(http.MethodGet, "/console/preview?template=flash_sale&person=ada", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `id="sms-encoding">UCS-2`)
	require.NotContains(t, body, `id="refused-fields"`, "flash_sale gives its code a default")
	code, body, _ = u.do(http.MethodGet, "/console/preview?template=cart_reminder&person=ada", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `id="refused-fields"`, "a send without a cart URL is refused, and the preview says so")
	require.Contains(t, body, "<code>payload.cart_url</code>")
	_, body, _ = u.do(http.MethodGet, "/console/preview?template=welcome&person=nobody@example.com", nil)
	require.Contains(t, body, "No one matches that identifier.")
	code, _, _ = u.post("/console/preview/test", url.Values{"template": {"welcome"}, "person": {"ada"}, "to": {"ada@example.com"}})
	require.Equal(t, http.StatusForbidden, code, "test sends only go to the seed list")
}

func TestConsoleReportsAndLanguage(t *testing.T) {
	e := consoleEnv(t)
	e.person(map[string]any{"user_id": "ada", "email": "ada@example.com"})
	_, err := e.store.ImportRows(e.ctx, engine.ImportEvents, "test", []map[string]any{
		{"user_id": "ada", "event": "email_bounced", "timestamp": t0.Add(-time.Hour).Format(time.RFC3339), "message_id": "b1"},
		{"user_id": "ada", "event": "email_complained", "timestamp": t0.Add(-25 * time.Hour).Format(time.RFC3339), "message_id": "c1"},
	})
	require.NoError(t, err)
	_, err = e.store.OpenRequest(e.ctx, engine.RequestAccess, "ada", t0.Add(-40*24*time.Hour), "test")
	require.NoError(t, err)
	u := signIn(t, e, tokAdmin)
	code, body, _ := u.do(http.MethodGet, "/console/reports", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `<svg class="chart"`)
	require.Contains(t, body, "2026-03-02 Bounces: 1")
	require.Contains(t, body, "2026-03-01 Complaints: 1")
	require.Contains(t, body, "Privacy requests")
	require.Contains(t, body, `class="overdue"`, "a request received 40 days ago is overdue")

	reader := signIn(t, e, tokRead)
	_, body, _ = reader.do(http.MethodGet, "/console/reports", nil)
	require.NotContains(t, body, "Privacy requests", "requests are for admins")
	code, _, _ = u.post("/console/lang", url.Values{"lang": {"th"}, "back": {"/console/reports"}})
	require.Equal(t, http.StatusSeeOther, code)
	_, body, _ = u.do(http.MethodGet, "/console/reports", nil)
	require.Contains(t, body, `lang="th"`)
	require.Contains(t, body, "คำขอด้านความเป็นส่วนตัว")
}

func TestConsoleTestSendGoesToSeedsOnly(t *testing.T) {
	seeds := &recorder{name: "email"}
	tpls, err := templates.Load("../testdata/templates")
	require.NoError(t, err)
	e := newEnv(t, func(c *Config, o *Options) {
		o.Console = ConsoleConfig{Templates: tpls, SeedList: []string{"seed@example.com"}, Channels: map[string]channels.Channel{"email": seeds}}
	})
	id := e.person(map[string]any{"user_id": "ada", "email": "ada@example.com", "first_name": "Ada"}, "marketing/email")
	u := signIn(t, e, tokMarketer)
	code, _, _ := u.post("/console/preview/test", url.Values{"template": {"welcome"}, "person": {"ada"}, "to": {"ada@example.com"}})
	require.Equal(t, http.StatusForbidden, code)
	code, body, resp := u.post("/console/preview/test", url.Values{"template": {"welcome"}, "person": {"ada"}, "to": {"seed@example.com"}})
	require.Equal(t, http.StatusSeeOther, code, body)
	require.Contains(t, resp.Header.Get("Location"), "sent=seed%40example.com")
	require.Len(t, seeds.msgs, 1)
	m := seeds.msgs[0]
	require.Equal(t, "seed@example.com", m.To)
	require.Equal(t, id, m.ProfileID)
	require.Equal(t, "console-test", m.Journey)
	require.Equal(t, true, m.Payload["test"])
	require.True(t, m.Test, "labelled as a test send")
	require.Equal(t, 0, e.email.sentTo(id), "nothing went through the journeys' channel")

	reader := signIn(t, e, tokRead)
	code, _, _ = reader.post("/console/preview/test", url.Values{"template": {"welcome"}, "person": {"ada"}, "to": {"seed@example.com"}})
	require.Equal(t, http.StatusForbidden, code)
}

// TestConsoleGraphsOfSampleJourneys draws every sample journey: the SVG is
// well-formed XML with one node per step plus the entry and the end, and
// every jump (branch, split, timeout) is labelled.
func TestConsoleGraphsOfSampleJourneys(t *testing.T) {
	files, err := filepath.Glob("../testdata/journeys/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		spec, err := journeys.Parse(f, src, journeys.ValidateConfig{})
		require.NoError(t, err, f)
		st := journeys.Stats{Steps: []journeys.StepStats{{Step: spec.Steps[0].ID, Entered: 7, Sent: 5, Skipped: map[string]int64{"no_consent": 2}}}}
		for _, lang := range []string{langEN, langTH} {
			svg := journeyGraph(lang, spec, st)
			dec := xml.NewDecoder(strings.NewReader(svg))
			groups := 0
			for {
				tok, err := dec.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err, "%s: %s", f, svg)
				if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "g" {
					groups++
				}
			}
			require.Equal(t, len(spec.Steps)+2, groups, f)
			require.Contains(t, svg, "no_consent 2")
		}
	}
}

// TestConsoleCatalogue checks that every console text the templates and
// handlers name exists in English and Thai.
func TestConsoleCatalogue(t *testing.T) {
	keyRE := regexp.MustCompile(`"(c\.[a-z_]+)"`)
	var used []string
	for _, glob := range []string{"console*.go", "web/console/*.html"} {
		files, err := filepath.Glob(glob)
		require.NoError(t, err)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
				if !strings.HasSuffix(m[1], "_") { // prefixes completed at run time
					used = append(used, m[1])
				}
			}
		}
	}
	require.NotEmpty(t, used)
	for _, k := range append(used, "c.state_active", "c.state_paused", "c.op_export", "c.op_erase", "c.notice_saved") {
		for _, lang := range []string{langEN, langTH} {
			_, ok := messages[lang][k]
			require.True(t, ok, "%s has no %s text", k, lang)
		}
	}
}
