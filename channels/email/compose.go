package email

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/templates"
)

// Address is a sender identity.
type Address struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
}

// Config is what both adapters (SMTP and file) need to compose messages.
type Config struct {
	// From is the sender identity. Required; From.Address must be ASCII.
	From Address
	// ReplyTo is an optional Reply-To address.
	ReplyTo string
	// Templates renders message content. Required.
	Templates *templates.Set
	// Links issues unsubscribe and preference links. Required for marketing
	// messages (a marketing send without it fails permanently with
	// channels.ErrNoUnsubscribeLink).
	Links linktoken.Links
	// MessageIDDomain is the right-hand side of Message-IDs. Default: the
	// domain of From.Address.
	MessageIDDomain string
	// DKIM signs messages when set.
	DKIM *DKIMConfig
	// Gate is called immediately before each provider call (nil = allow).
	Gate channels.Gate
	// Now is the clock (Date header, token issue time). Default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() error {
	if c.From.Address == "" {
		return errors.New("email: From.Address is required")
	}
	from, err := channels.NormalizeEmail(c.From.Address)
	if err != nil || !isASCII(from) {
		return fmt.Errorf("email: From.Address: %w", channels.ErrInvalidAddress)
	}
	if c.Templates == nil {
		return errors.New("email: Templates is required")
	}
	if c.MessageIDDomain == "" {
		c.MessageIDDomain = from[strings.LastIndexByte(from, '@')+1:]
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.DKIM != nil {
		if err := c.DKIM.check(); err != nil {
			return err
		}
	}
	return nil
}

// Composed is a message ready for the wire.
type Composed struct {
	// EnvelopeTo is the recipient for RCPT TO.
	EnvelopeTo string
	// MessageID is the Message-ID header value without angle brackets.
	MessageID string
	// Raw is the full RFC 5322 message with CRLF line endings.
	Raw []byte
	// UnsubscribeToken is the signed token in List-Unsubscribe ("" for
	// transactional mail).
	UnsubscribeToken string
}

// MessageID derives the Message-ID (without brackets) of a send from its
// idempotency key: the same key always gives the same id.
func MessageID(idempotencyKey, domain string) string {
	var sum []byte
	if idempotencyKey == "" {
		sum = make([]byte, 15)
		_, _ = rand.Read(sum)
	} else {
		h := sha256.Sum256([]byte("tact-message-id\x00" + idempotencyKey))
		sum = h[:15]
	}
	return "tact." + strings.ToLower(base32.StdEncoding.EncodeToString(sum)) + "@" + domain
}

// Compose renders and encodes m. Errors are classified: a render or
// address problem is permanent.
func Compose(cfg *Config, m channels.Message) (*Composed, error) {
	to, err := channels.NormalizeEmail(m.To)
	if err != nil {
		return nil, err
	}
	if !isASCII(to) {
		return nil, channels.ErrInvalidAddress
	}
	tpl, err := cfg.Templates.Lookup(m.Template)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", channels.ErrRender, err)
	}
	if tpl.Marketing() != m.Marketing() {
		return nil, fmt.Errorf("%w: template %s has purpose %q, message has purpose %q (transactional=%v)",
			channels.ErrRender, tpl.Name, tpl.Purpose, m.Purpose, m.Transactional)
	}
	now := cfg.Now()
	data := m.TemplateData(now)
	unsubURL, unsubToken, err := m.AddLinks(&data, channels.Email, cfg.Links)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", channels.ErrNoUnsubscribeLink, err)
	}
	r, err := cfg.Templates.Render(m.Template, templates.ChannelEmail, data)
	if err != nil {
		if errors.Is(err, templates.ErrNoUnsubscribeLink) {
			return nil, fmt.Errorf("%w: %w", channels.ErrNoUnsubscribeLink, err)
		}
		return nil, fmt.Errorf("%w: %w", channels.ErrRender, err)
	}
	msgID := MessageID(m.IdempotencyKey, cfg.MessageIDDomain)
	fromName := cfg.From.Name
	if r.FromName != "" {
		fromName = r.FromName
	}

	var h strings.Builder
	writeHeader(&h, "Date", now.Format(time.RFC1123Z))
	writeHeader(&h, "From", formatAddress(fromName, strings.ToLower(cfg.From.Address)))
	writeHeader(&h, "To", formatAddress(m.ToName, to))
	if cfg.ReplyTo != "" {
		writeHeader(&h, "Reply-To", "<"+cfg.ReplyTo+">")
	}
	writeHeader(&h, "Subject", encodeText(m.Labelled(r.Subject)))
	writeHeader(&h, "Message-ID", "<"+msgID+">")
	writeHeader(&h, "MIME-Version", "1.0")
	if m.IdempotencyKey != "" && isASCII(m.IdempotencyKey) && !strings.ContainsAny(m.IdempotencyKey, "\r\n") {
		writeHeader(&h, "X-Tact-Key", m.IdempotencyKey)
	}
	if unsubURL != "" {
		h.WriteString("List-Unsubscribe: <" + unsubURL + ">\r\n")
		h.WriteString("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
	}

	html := r.HTML
	if html != "" && r.Preheader != "" {
		html = insertPreheader(html, r.Preheader)
	}
	boundary := boundaryFor(msgID)
	var body bytes.Buffer
	if html == "" {
		writeHeader(&h, "Content-Type", "text/plain; charset=utf-8")
		enc := pickEncoding(r.Text)
		writeHeader(&h, "Content-Transfer-Encoding", enc)
		h.WriteString("\r\n")
		if err := encodeBody(&body, enc, r.Text); err != nil {
			return nil, err
		}
	} else {
		writeHeader(&h, "Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
		h.WriteString("\r\n")
		mw := multipart.NewWriter(&body)
		if err := mw.SetBoundary(boundary); err != nil {
			return nil, err
		}
		for _, p := range []struct{ ctype, content string }{
			{"text/plain; charset=utf-8", r.Text},
			{"text/html; charset=utf-8", html},
		} {
			enc := pickEncoding(p.content)
			pw, err := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {p.ctype},
				"Content-Transfer-Encoding": {enc},
			})
			if err != nil {
				return nil, err
			}
			if err := encodeBody(pw, enc, p.content); err != nil {
				return nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
		body.WriteString("\r\n")
	}
	raw := make([]byte, 0, h.Len()+body.Len()+1024)
	raw = append(raw, h.String()...)
	raw = append(raw, body.Bytes()...)
	if cfg.DKIM != nil {
		raw, err = cfg.DKIM.sign(raw)
		if err != nil {
			return nil, err
		}
	}
	return &Composed{EnvelopeTo: to, MessageID: msgID, Raw: raw, UnsubscribeToken: unsubToken}, nil
}

func boundaryFor(msgID string) string {
	h := sha256.Sum256([]byte("boundary\x00" + msgID))
	return "tact-" + base64.RawURLEncoding.EncodeToString(h[:18])
}

// pickEncoding chooses base64 for mostly non-ASCII text (Thai is 3 bytes a
// character, 9 in quoted-printable) and quoted-printable otherwise.
func pickEncoding(s string) string {
	non := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			non++
		}
	}
	if non*3 > len(s) {
		return "base64"
	}
	return "quoted-printable"
}

func encodeBody(w io.Writer, enc, s string) error {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if enc == "base64" {
		s = strings.ReplaceAll(s, "\n", "\r\n")
		b := base64.StdEncoding.EncodeToString([]byte(s))
		var out strings.Builder
		for len(b) > 76 {
			out.WriteString(b[:76])
			out.WriteString("\r\n")
			b = b[76:]
		}
		out.WriteString(b)
		out.WriteString("\r\n")
		_, err := io.WriteString(w, out.String())
		return err
	}
	qw := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qw, s); err != nil {
		return err
	}
	if err := qw.Close(); err != nil {
		return err
	}
	if !strings.HasSuffix(s, "\n") {
		_, err := io.WriteString(w, "\r\n")
		return err
	}
	return nil
}

func insertPreheader(html, pre string) string {
	div := `<div style="display:none;max-height:0;overflow:hidden">` + htmlEscape(pre) + `</div>`
	lower := strings.ToLower(html)
	if i := strings.Index(lower, "<body"); i >= 0 {
		if j := strings.IndexByte(html[i:], '>'); j >= 0 {
			k := i + j + 1
			return html[:k] + div + html[k:]
		}
	}
	return div + html
}

func htmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}
