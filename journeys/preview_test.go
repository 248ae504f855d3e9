package journeys

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine"
)

// previewTemplates: an email that prints first_name without a default (a
// send to someone without one is refused) and an SMS that prints the entry
// payload's item with a default.
func previewTemplates(t *testing.T) *templates.Set {
	t.Helper()
	mail, err := templates.New("hello", templates.ChannelEmail, "hello.email.html", `---
purpose: marketing
subject: "Hello {{ .traits.first_name }}"
---
<p>Hi {{ .traits.first_name }}, {{ .payload.item | default "your cart" }} is waiting.</p>
<a href="{{ .unsubscribe_url }}">Unsubscribe</a>`, true, "", "")
	require.NoError(t, err)
	text, err := templates.New("nudge", templates.ChannelSMS, "nudge.sms.txt", `---
purpose: marketing
---
{{ .traits.first_name | default "Hi" }}: {{ .payload.item | default "your cart" }} is still there.`, false, "", "")
	require.NoError(t, err)
	set, err := templates.NewSet(mail, text)
	require.NoError(t, err)
	return set
}

func previewLinks(t *testing.T) linktoken.Links {
	t.Helper()
	signer, err := linktoken.New(linktoken.Config{Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	require.NoError(t, err)
	return linktoken.Links{BaseURL: "https://prefs.example.com", Signer: signer}
}

const previewJourney = `name: hello
purpose: marketing
entry: {segment: 'ltv >= 0'}
steps:
  - id: mail
    send: {channel: email, template: hello}
  - id: pause
    wait: {duration: 1d}
  - id: text
    send: {channel: sms, template: nudge}
`

// journeyRows counts what a run writes: instances, outbox, results, log.
func (e *env) journeyRows() map[string]int {
	e.t.Helper()
	out := map[string]int{}
	for _, table := range []string{"journey_instances", "journey_outbox", "journey_results", "journey_log"} {
		var n int
		require.NoError(e.t, e.store.DB().QueryRowContext(e.ctx, "SELECT count(*) FROM "+table).Scan(&n))
		out[table] = n
	}
	return out
}

func (e *env) auditCount(action string) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM audit_log WHERE action = ?`, action).Scan(&n))
	return n
}

func TestPreviewRendersEverySendStepAndRecordsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Templates = previewTemplates(t) })
	ids := e.people(
		person{User: "ann", Email: "ann@example.com", Phone: "+66812345678", Traits: map[string]any{"first_name": "Ann", "ltv": 10},
			Consents: []string{"marketing/email", "marketing/sms"}},
		person{User: "bob", Email: "bob@example.com", Traits: map[string]any{"ltv": 20}, Consents: []string{"marketing/email"}},
		person{User: "cy", Email: "cy@example.com", Traits: map[string]any{"first_name": "Cy", "ltv": 30}},
		person{User: "dee", Email: "dee@example.com", Traits: map[string]any{"first_name": "Dee", "ltv": 40}, Consents: []string{"marketing/email"}},
	)
	v := e.publish(previewJourney)
	spec, version, err := e.r.PublishedSpec(e.ctx, "hello")
	require.NoError(t, err)
	require.Equal(t, v.Version, version)
	before, readsBefore := e.journeyRows(), e.auditCount(engine.AuditAdminRead)

	p, err := e.r.Preview(e.ctx, spec, version, PreviewOptions{People: 3, Links: previewLinks(t), Actor: "tester"})
	require.NoError(t, err)

	require.Equal(t, ids[:3], p.People, "the first three members of the entry segment")
	require.Len(t, p.Steps, 2, "both send steps, not the wait")
	mail, text := p.Steps[0], p.Steps[1]
	require.Equal(t, "mail", mail.Step)
	require.Equal(t, "email", mail.Channel)
	cases := []struct {
		name    string
		got     PreviewSend
		would   bool
		reason  string
		missing []string
		subject string
	}{
		{"ann gets the email", mail.Sends[0], true, "", nil, "Hello Ann"},
		{"bob lacks first_name", mail.Sends[1], false, ReasonRender, []string{"traits.first_name"}, "Hello"},
		{"cy has no consent", mail.Sends[2], false, "no_consent", nil, "Hello Cy"},
		{"ann gets the sms", text.Sends[0], true, "", nil, ""},
		{"bob has no sms consent", text.Sends[1], false, "no_consent", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.would, tc.got.WouldSend)
			require.Equal(t, tc.reason, tc.got.Reason)
			require.Equal(t, tc.missing, tc.got.Missing)
			require.Equal(t, tc.subject, tc.got.Subject)
			require.Empty(t, tc.got.RenderError)
		})
	}
	require.Contains(t, mail.Sends[0].Text, "Hi Ann, your cart is waiting.")
	require.Contains(t, mail.Sends[0].Text, "https://prefs.example.com/unsubscribe?token=", "the unsubscribe link the email adapter adds")
	require.Equal(t, "Ann: your cart is still there.", text.Sends[0].Text)

	require.Equal(t, before, e.journeyRows(), "a preview writes no instance, outbox row, result or log line")
	require.Equal(t, readsBefore+3, e.auditCount(engine.AuditAdminRead), "each person read is audited")
}

func TestPreviewPicksPeopleByEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Templates = previewTemplates(t) })
	ids := e.people(
		person{User: "a", Phone: "+66811111111", Traits: map[string]any{"first_name": "A"}, Consents: []string{"marketing/sms"}},
		person{User: "b", Phone: "+66822222222", Traits: map[string]any{"first_name": "B"}, Consents: []string{"marketing/sms"}},
		person{User: "c", Phone: "+66833333333", Traits: map[string]any{"first_name": "C"}, Consents: []string{"marketing/sms"}},
	)
	at := func(h int) string { return e.clk.Now().Add(-time.Duration(h) * time.Hour).Format(time.RFC3339) }
	_, err := e.store.ImportRows(e.ctx, engine.ImportEvents, "t", []map[string]any{
		{"user_id": "a", "event": "added_to_cart", "timestamp": at(5), "message_id": "e1", "properties": map[string]any{"item": "beans", "cart_value": 900}},
		{"user_id": "b", "event": "added_to_cart", "timestamp": at(1), "message_id": "e2", "properties": map[string]any{"item": "mug", "cart_value": 100}},
		{"user_id": "c", "event": "added_to_cart", "timestamp": at(2), "message_id": "e3", "properties": map[string]any{"item": "grinder", "cart_value": 700}},
	})
	require.NoError(t, err)
	sms := "steps:\n  - id: text\n    send: {channel: sms, template: nudge}\n"
	cases := []struct {
		name, src string
		people    []int64
		texts     []string
	}{
		{"event entry: latest matching events, the event as payload",
			"name: cart\npurpose: marketing\nentry: {event: added_to_cart, where: 'properties.cart_value > 500'}\n" + sms,
			[]int64{ids[2], ids[0]}, []string{"C: grinder is still there.", "A: beans is still there."}},
		{"api entry nobody entered: the first profiles",
			"name: api\npurpose: marketing\nentry: api\n" + sms,
			[]int64{ids[0], ids[1]}, []string{"A: your cart is still there.", "B: your cart is still there."}},
		{"schedule without audience: everyone",
			"name: sched\npurpose: marketing\nentry: {schedule: '0 9 * * *'}\n" + sms,
			[]int64{ids[0], ids[1]}, []string{"A: your cart is still there.", "B: your cart is still there."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := e.r.Validate("x.yaml", []byte(tc.src))
			require.NoError(t, err)
			p, err := e.r.Preview(e.ctx, spec, 0, PreviewOptions{People: 2, Links: previewLinks(t)})
			require.NoError(t, err)
			require.Equal(t, tc.people, p.People)
			var texts []string
			for _, s := range p.Steps[0].Sends {
				texts = append(texts, s.Text)
			}
			require.Equal(t, tc.texts, texts)
		})
	}
}

func TestPreviewAPIEntryUsesTheLatestEntriesPayloads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Templates = previewTemplates(t) })
	ids := e.people(person{User: "a", Phone: "+66811111111", Traits: map[string]any{"first_name": "A"}, Consents: []string{"marketing/sms"}})
	e.publish("name: api\npurpose: marketing\nentry: api\nsteps:\n  - id: hold\n    wait: {duration: 1d}\n  - id: text\n    send: {channel: sms, template: nudge}\n")
	n, err := e.r.Trigger(e.ctx, "api", []APIEntry{{ProfileID: ids[0], Payload: map[string]any{"item": "kettle"}}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	spec, version, err := e.r.PublishedSpec(e.ctx, "api")
	require.NoError(t, err)
	p, err := e.r.Preview(e.ctx, spec, version, PreviewOptions{Links: previewLinks(t)})
	require.NoError(t, err)
	require.Equal(t, "A: kettle is still there.", p.Steps[0].Sends[0].Text)
}

func TestTestSend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Templates = previewTemplates(t) })
	ids := e.people(
		person{User: "ann", Email: "ann@example.com", Traits: map[string]any{"first_name": "Ann", "ltv": 1}},
		person{User: "bob", Email: "bob@example.com", Traits: map[string]any{"ltv": 2}},
	)
	require.NoError(t, e.store.Suppress(e.ctx, "email", "bounced@example.com", engine.SuppressHardBounce, "test"))
	e.publish(previewJourney)
	spec, version, err := e.r.PublishedSpec(e.ctx, "hello")
	require.NoError(t, err)
	rec := &recorder{name: "email"}
	opts := TestSendOptions{To: "seed@example.com", Channels: map[string]channels.Channel{"email": rec}, Links: previewLinks(t), Actor: "tester"}
	before := e.journeyRows()

	sent, err := e.r.TestSend(e.ctx, spec, version, opts)
	require.NoError(t, err)
	require.Equal(t, TestSent{Journey: "hello", Step: "mail", Channel: "email", ProfileID: ids[0], ProviderMessageID: sent.ProviderMessageID}, sent)
	msgs := rec.sent()
	require.Len(t, msgs, 1)
	require.Equal(t, "seed@example.com", msgs[0].To, "to the seed address, never the person")
	require.True(t, msgs[0].Test, "labelled as a test by the adapter")
	require.Equal(t, "Ann", msgs[0].Traits["first_name"], "with the person's data, though Ann gave no consent: nothing reaches her")
	require.Equal(t, before, e.journeyRows(), "no outbox row, result or log line")
	require.Equal(t, 1, e.auditCount(AuditTestSend))
	var details string
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT details FROM audit_log WHERE action = ?`, AuditTestSend).Scan(&details))
	require.NotContains(t, details, "seed@example.com", "the audit log keeps a keyed hash of the address")
	require.Contains(t, details, e.store.KeyedValueHash("seed", "seed@example.com"))

	refusals := []struct {
		name   string
		mod    func(o *TestSendOptions)
		target error
		says   string
	}{
		{"suppressed address", func(o *TestSendOptions) { o.To = "Bounced@Example.com" }, ErrAddressSuppressed, "on the suppression list (hard_bounce)"},
		{"unknown step", func(o *TestSendOptions) { o.Step = "nope" }, ErrNoSendStep, "test send hello step nope: no such send step: send steps: mail, text"},
		{"no channel for the step", func(o *TestSendOptions) { o.Step = "text" }, ErrNoChannel, "configure channels.sms"},
		{"a field missing for the person", func(o *TestSendOptions) { o.ProfileID = ids[1] }, ErrNotRendered, "field traits.first_name missing"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			o := opts
			tc.mod(&o)
			_, err := e.r.TestSend(e.ctx, spec, version, o)
			require.ErrorIs(t, err, tc.target)
			require.Contains(t, err.Error(), tc.says)
			var tse *TestSendError
			require.True(t, errors.As(err, &tse))
		})
	}
	require.Len(t, rec.sent(), 1, "no refused test send reached the channel")
	require.Equal(t, 1, e.auditCount(AuditTestSend))
}
