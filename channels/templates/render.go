package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Data is what one rendering sees.
type Data struct {
	ProfileID int64
	Traits    map[string]any
	Payload   map[string]any
	// Timezone is the person's IANA zone; "" or unknown means UTC.
	Timezone string
	// Now is the send time (zero = time.Now()).
	Now            time.Time
	UnsubscribeURL string
	PreferencesURL string
	Journey, Step  string
	// AllowMissing renders even when a field the template prints without a
	// default has no value (it prints as ""). Only previews set it: a send
	// never does, so a message with a blank field is refused, not sent.
	AllowMissing bool

	// loadCheck marks the load-time rendering of a LINE template with every
	// value missing (see checkLINE).
	loadCheck bool
}

// Rendered is the output of one rendering.
type Rendered struct {
	Name, Channel, Purpose string
	// Email: Subject (one line), Preheader, FromName, HTML and Text parts.
	Subject, Preheader, FromName string
	HTML                         string
	// Text is the email's plain-text part, or the SMS/push body.
	Text string
	// Push: Title, URL, Icon.
	Title, URL, Icon string
	// Messages is the LINE message array (compact JSON, validated against
	// LINE's limits; renderings of equal text may share it: read only);
	// Text holds the same rendering before compaction.
	Messages json.RawMessage
}

func (d Data) location() *time.Location {
	if d.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func (d Data) toMap(loc *time.Location, zone any) map[string]any {
	m := make(map[string]any, dataKeys)
	d.fill(m, loc, zone, nil)
	return m
}

// dataKeys is the number of keys fill sets.
const dataKeys = 9

// fill sets every key of the rendering data in m (all of them, so a map
// reused for the next person keeps nothing of the last). empty stands in
// for absent traits or payload when not nil: templates only read it.
func (d Data) fill(m map[string]any, loc *time.Location, zone any, empty map[string]any) {
	now := d.Now
	if now.IsZero() {
		now = time.Now()
	}
	traits, payload := d.Traits, d.Payload
	if traits == nil {
		traits = orEmpty(empty)
	}
	if payload == nil {
		payload = orEmpty(empty)
	}
	m["traits"] = traits
	m["payload"] = payload
	m["profile_id"] = d.ProfileID
	m["unsubscribe_url"] = d.UnsubscribeURL
	m["preferences_url"] = d.PreferencesURL
	m["timezone"] = zone
	m["now"] = now.In(loc)
	m["journey"] = d.Journey
	m["step"] = d.Step
}

func orEmpty(empty map[string]any) map[string]any {
	if empty != nil {
		return empty
	}
	return map[string]any{}
}

// Render renders t with d.
func (t *Template) Render(d Data) (*Rendered, error) {
	c, err := t.compiledFor(d)
	if err != nil {
		return nil, err
	}
	data := c.data.Get().(map[string]any)
	d.fill(data, c.loc, c.zone, c.empty)
	defer func() {
		// Emptied before it is pooled: no person's data waits in it.
		clear(data)
		c.data.Put(data)
	}()
	if !d.AllowMissing && !d.loadCheck {
		if miss := c.missing(data); len(miss) > 0 {
			return nil, &Error{Template: t.Name, Kind: ErrRender, Detail: fmt.Sprintf(
				"%s has no value for this person and the template gives no default (write {{ .%s | default \"…\" }} or guard it with {{ if .%s }})",
				strings.Join(miss, ", "), miss[0], miss[0])}
		}
	}
	out := &Rendered{Name: t.Name, Channel: t.Channel, Purpose: t.Purpose, FromName: t.FromName, Icon: t.Icon}
	fail := func(part string, err error) (*Rendered, error) {
		return nil, &Error{Template: t.Name, Kind: ErrRender, Detail: part + ": " + err.Error()}
	}
	if c.html != nil {
		var b strings.Builder // String() without a copy
		b.Grow(int(c.htmlSize.Load()))
		if err := c.html.Execute(&b, data); err != nil {
			return fail(partHTML, err)
		}
		c.htmlSize.Store(int64(b.Len()))
		out.HTML = b.String()
	}
	for _, part := range c.parts {
		s := part.constant
		if !part.isConstant {
			var err error
			if s, err = execTextSized(part.tpl, data, &part.size); err != nil {
				return fail(part.name, err)
			}
		}
		switch part.name {
		case partText:
			out.Text = s
		case partSubject:
			out.Subject = oneLine(s)
		case partPreheader:
			out.Preheader = oneLine(s)
		case partTitle:
			out.Title = oneLine(s)
		case partURL:
			out.URL = strings.TrimSpace(s)
		}
	}
	switch t.Channel {
	case ChannelEmail:
		if out.Text == "" {
			out.Text = HTMLToText(out.HTML)
		}
		if t.Marketing() {
			if d.UnsubscribeURL == "" {
				return nil, &Error{Template: t.Name, Kind: ErrNoUnsubscribeLink, Detail: "no unsubscribe URL supplied for a marketing email"}
			}
			// HTML escapes the URL's "&" (a link with a lang parameter).
			if out.HTML != "" && !strings.Contains(out.HTML, d.UnsubscribeURL) && !strings.Contains(out.HTML, html.EscapeString(d.UnsubscribeURL)) {
				return nil, &Error{Template: t.Name, Kind: ErrNoUnsubscribeLink, Detail: "rendered HTML lacks the unsubscribe URL"}
			}
			if !strings.Contains(out.Text, d.UnsubscribeURL) {
				return nil, &Error{Template: t.Name, Kind: ErrNoUnsubscribeLink, Detail: "rendered text part lacks the unsubscribe URL"}
			}
		}
	case ChannelLine:
		// A batch renders the same text many times (multicast): the last
		// checked text is remembered, so it is validated once.
		if m := t.lastLINE.Load(); m != nil && !d.loadCheck && m.text == out.Text {
			out.Messages = m.msgs
			break
		}
		msgs, p := checkLINE(out.Text, !d.loadCheck)
		if p != nil {
			return nil, t.lineError(out.Text, p, d)
		}
		out.Messages = msgs
		if !d.loadCheck {
			t.lastLINE.Store(&lineMemo{text: out.Text, msgs: msgs})
		}
	case ChannelSMS, ChannelPush:
		out.Text = strings.TrimSpace(out.Text)
		if out.Text == "" {
			return nil, &Error{Template: t.Name, Kind: ErrRender, Detail: "rendered body is empty"}
		}
	}
	return out, nil
}

// oneLine collapses all whitespace runs (newlines included) to one space, so
// a rendered subject can never inject a header line.
func oneLine(s string) string {
	if isOneLine(s) {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// isOneLine reports whether oneLine would return s unchanged: its only
// white space is single ASCII spaces between words.
func isOneLine(s string) bool {
	prevSpace := true // no leading space
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		space := unicode.IsSpace(r)
		if space && (r != ' ' || prevSpace) {
			return false
		}
		prevSpace = space
		i += size
	}
	return !prevSpace || s == ""
}

// IsRenderError reports whether err is a rendering failure of a template.
func IsRenderError(err error) bool {
	return errors.Is(err, ErrRender) || errors.Is(err, ErrNoUnsubscribeLink)
}
