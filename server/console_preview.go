package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"sort"
	"strconv"
	"strings"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/email"
	"github.com/tactcdp/tact/channels/sms"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/eligibility"
)

// Message preview: a template rendered for a chosen (or sample) person as
// the channel would send it, with the fields that came out empty flagged,
// the person's eligibility (engine/eligibility, via Store.EligiblePerson),
// and a test send to the configured seed list only.

func (c *console) mountPreview(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/preview", c.need(RoleRead, c.handlePreview))
	mux.HandleFunc("POST /console/preview/test", c.need(RoleMarketer, c.handleTestSend))
}

// previewData feeds preview.html.
type previewData struct {
	Templates []string
	Template  string
	Person    string
	ProfileID int64
	Sample    bool
	Channel   string
	Purpose   string
	Subject   string
	Preheader string
	HTML      string
	Text      string
	Headers   []kv
	SMS       *sms.SegmentInfo
	Push      string
	Empty     []string
	// Refused are the fields without a value or default: a send to this
	// person is refused with reason render (templates.Template.Missing).
	Refused  []string
	Eligible string
	Seeds    []string
	Failure  string
	Sent     string
}

// marker stands for the i-th missing trait in the flagging renders: digits
// between brackets survive case changes and most formatting.
func marker(i int) string { return "\u27e6" + strconv.Itoa(i) + "\u27e7" }

func (c *console) handlePreview(w http.ResponseWriter, r *http.Request) {
	v := c.newView(r, "preview", "c.preview")
	d := previewData{Seeds: c.cfg.SeedList}
	set := c.cfg.Templates
	if set != nil {
		d.Templates = set.Names()
	}
	q := r.URL.Query()
	d.Template, d.Person = q.Get("template"), strings.TrimSpace(q.Get("person"))
	if d.Template == "" && len(d.Templates) > 0 {
		d.Template = d.Templates[0]
	}
	v.Notice = noticeFrom(v.Lang, q)
	if q.Get("sent") != "" {
		v.Notice = v.Tf("c.test_sent", q.Get("sent"))
	}
	if set != nil && d.Template != "" {
		if err := c.preview(r, &d, v.IsAdmin); err != nil {
			var pe *pageError
			var te *templates.Error
			switch {
			case errors.As(err, &pe):
				d.Failure = T(v.Lang, pe.Key)
			case errors.As(err, &te):
				d.Failure = te.Error() // the template's own problem, for its author
			default:
				d.Failure = c.failureText(v.Lang, err)
			}
		}
	}
	v.Data = d
	v.inlineStyles = d.HTML != ""
	c.render(w, http.StatusOK, "preview", v)
}

// resolvePerson finds the person to preview for: an id, any identifier,
// or (empty) the sample person, the lowest profile id.
func (c *console) resolvePerson(ctx context.Context, person string) (int64, bool, error) {
	if person == "" {
		var id int64
		err := c.s.store.DB().QueryRowContext(ctx, `SELECT coalesce(min(id), 0) FROM profiles`).Scan(&id)
		if err == nil && id == 0 {
			err = engine.ErrNotFound
		}
		return id, true, err
	}
	if id, err := strconv.ParseInt(person, 10, 64); err == nil {
		if _, err := c.s.store.Profile(ctx, id); err == nil {
			return id, false, nil
		}
	}
	id, err := c.s.store.ResolveUser(ctx, person)
	return id, false, err
}

// preview renders d.Template for the chosen person into d.
func (c *console) preview(r *http.Request, d *previewData, admin bool) error {
	ctx := r.Context()
	tpl, err := c.cfg.Templates.Lookup(d.Template)
	if err != nil {
		return &pageError{Key: "c.err_notfound"}
	}
	id, sample, err := c.resolvePerson(ctx, d.Person)
	if err == nil {
		_, err = c.s.store.Profile(ctx, id)
	}
	if errors.Is(err, engine.ErrNotFound) {
		return &pageError{Key: "c.no_match"}
	}
	if err != nil {
		return err
	}
	p, err := c.s.store.Profile(ctx, id)
	if err != nil {
		return err
	}
	d.ProfileID, d.Sample, d.Channel, d.Purpose = id, sample, tpl.Channel, tpl.Purpose
	if d.Purpose == "" {
		d.Purpose = "marketing"
	}
	if err := c.s.store.RecordAccess(ctx, engine.DataAccess{Actor: consoleActor(r), What: "console message preview", ProfileID: id, Rows: 1}); err != nil {
		return err
	}
	reason, _, err := c.s.store.EligiblePerson(ctx, eligibility.Request{Purpose: d.Purpose, Channel: d.Channel, At: c.s.clock.Now()}, id)
	switch {
	case err != nil:
		d.Eligible = "error"
	case reason == "":
		d.Eligible = "eligible"
	default:
		d.Eligible = reason
	}
	msg := channels.Message{IdempotencyKey: "console-preview", ProfileID: id, Journey: "console-preview", Step: "preview",
		Purpose: d.Purpose, Transactional: d.Purpose == "transactional", Timezone: p.Timezone, Template: d.Template, Traits: p.Traits}
	// The preview shows the blanks a send would refuse (AllowMissing) and
	// says so (Refused).
	data := msg.TemplateData(c.s.clock.Now())
	data.AllowMissing = true
	if c.s.signer != nil {
		_, _, _ = msg.AddLinks(&data, d.Channel, c.s.links) // as a real send builds them
	}
	out, err := tpl.Render(data)
	if err != nil {
		return err
	}
	d.Empty = c.emptyFields(ctx, tpl, data)
	if d.Refused, err = tpl.Missing(data); err != nil {
		return err
	}
	switch tpl.Channel {
	case templates.ChannelEmail:
		d.Subject, d.Preheader, d.HTML, d.Text = out.Subject, out.Preheader, out.HTML, out.Text
		to := p.Email
		if to == "" {
			to = "preview@example.invalid"
		}
		msg.To = to
		d.Headers = c.emailHeaders(msg, admin)
	case templates.ChannelSMS:
		d.Text = out.Text
		info := sms.CountSegments(out.Text)
		d.SMS = &info
	case templates.ChannelPush:
		b, _ := json.MarshalIndent(map[string]any{"title": out.Title, "body": out.Text, "url": out.URL, "icon": out.Icon}, "", "  ")
		d.Push = string(b)
	default:
		d.Text = out.Text
		if len(out.Messages) > 0 {
			var b bytes.Buffer
			_ = json.Indent(&b, out.Messages, "", "  ")
			d.Push = b.String()
		}
	}
	return nil
}

// emptyFields finds the traits a template uses that this person lacks:
// it renders again with a marker for every missing trait, and the markers
// that reach the output are the empty fields. A trait a typed function
// refuses as text (a date) is found by marking it alone.
func (c *console) emptyFields(ctx context.Context, tpl *templates.Template, data templates.Data) []string {
	traits, err := c.s.store.Traits(ctx)
	if err != nil {
		return nil
	}
	var missing []string
	for _, t := range traits {
		if v, ok := data.Traits[t.Name]; !ok || v == nil {
			missing = append(missing, t.Name)
		}
	}
	render := func(mark []int) (string, error) {
		marked := make(map[string]any, len(data.Traits)+len(mark))
		for k, v := range data.Traits {
			marked[k] = v
		}
		for _, i := range mark {
			marked[missing[i]] = marker(i)
		}
		d := data
		d.Traits = marked
		out, err := tpl.Render(d)
		if err != nil {
			return "", err
		}
		return out.Subject + out.Preheader + out.HTML + out.Text + out.Title + out.URL, nil
	}
	all := make([]int, len(missing))
	for i := range all {
		all[i] = i
	}
	var empty []string
	if text, err := render(all); err == nil {
		for i, name := range missing {
			if strings.Contains(text, marker(i)) {
				empty = append(empty, name)
			}
		}
	} else if len(missing) <= 200 {
		for i, name := range missing {
			if text, err := render([]int{i}); err != nil || strings.Contains(text, marker(i)) {
				empty = append(empty, name)
			}
		}
	}
	sort.Strings(empty)
	return empty
}

// emailHeaders composes the message as the email channel does and lists
// its headers (List-Unsubscribe included); the recipient is masked below
// admin.
func (c *console) emailHeaders(msg channels.Message, admin bool) []kv {
	cfg := c.cfg.Email
	if cfg == nil {
		cfg = &email.Config{From: email.Address{Address: "preview@example.invalid"}}
	}
	ec := *cfg
	if ec.Templates == nil {
		ec.Templates = c.cfg.Templates
	}
	if ec.Links.Signer == nil {
		ec.Links = c.s.links
	}
	ec.Now = c.s.clock.Now
	if ec.MessageIDDomain == "" {
		ec.MessageIDDomain = ec.From.Address[strings.LastIndexByte(ec.From.Address, '@')+1:]
	}
	comp, err := email.Compose(&ec, msg)
	if err != nil {
		return []kv{{"error", err.Error()}}
	}
	m, err := mail.ReadMessage(bytes.NewReader(comp.Raw))
	if err != nil {
		return nil
	}
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []kv
	for _, k := range keys {
		val := strings.Join(m.Header[k], ", ")
		if k == "To" && !admin {
			val = maskContact("email", msg.To)
		}
		if k == "Dkim-Signature" {
			continue
		}
		out = append(out, kv{k, val})
	}
	return out
}

// handleTestSend sends the rendered template for a person to one seed
// address through the configured channel, marked as a test; any address
// outside the seed list is refused.
func (c *console) handleTestSend(w http.ResponseWriter, r *http.Request) {
	to := strings.TrimSpace(r.PostForm.Get("to"))
	seed := false
	for _, s := range c.cfg.SeedList {
		if strings.EqualFold(s, to) {
			seed = true
		}
	}
	if !seed {
		c.fail(w, r, http.StatusForbidden, "c.err_seed")
		return
	}
	ctx := r.Context()
	tpl, err := c.cfg.Templates.Lookup(r.PostForm.Get("template"))
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, "c.err_notfound")
		return
	}
	ch, ok := c.cfg.Channels[tpl.Channel]
	if !ok {
		c.fail(w, r, http.StatusNotImplemented, "c.err_unavailable")
		return
	}
	id, _, err := c.resolvePerson(ctx, r.PostForm.Get("person"))
	if err != nil {
		c.fail(w, r, http.StatusNotFound, "c.no_match")
		return
	}
	p, err := c.s.store.Profile(ctx, id)
	if err != nil {
		c.fail(w, r, http.StatusNotFound, "c.no_match")
		return
	}
	traits := map[string]any{"test_send": true}
	for k, v := range p.Traits {
		traits[k] = v
	}
	purpose := tpl.Purpose
	if purpose == "" {
		purpose = "marketing"
	}
	key := "console-test-" + randomToken()[:16]
	res := ch.Send(ctx, []channels.Message{{IdempotencyKey: key, ProfileID: id, Journey: "console-test", Step: "test-send",
		Purpose: purpose, Transactional: purpose == "transactional", To: to, Timezone: p.Timezone, Template: tpl.Name, Traits: traits,
		Payload: map[string]any{"test": true}, Test: true}})
	_ = c.s.store.RecordAudit(ctx, consoleActor(r), "console.test_send", fmt.Sprintf("profile:%d", id),
		map[string]any{"template": tpl.Name, "channel": tpl.Channel, "seed": c.s.store.KeyedValueHash("seed", to)})
	if len(res) == 1 && res[0].Err != nil {
		c.s.log.Error("console test send failed", "err", errClass(res[0].Err))
		c.fail(w, r, http.StatusBadGateway, "c.err_generic")
		return
	}
	redirect(w, r, consolePrefix+"/preview", map[string][]string{"template": {tpl.Name}, "person": {strconv.FormatInt(id, 10)}, "sent": {to}})
}
