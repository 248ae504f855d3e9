package email

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	stdhtml "html"
	"io"
	"mime/quotedprintable"
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

	html := r.HTML
	if html != "" && r.Preheader != "" {
		html = insertPreheader(html, r.Preheader)
	}
	// One buffer holds the whole message: headers (about 1 KB), the parts
	// (base64 grows them by a third) and the MIME framing.
	var b bytes.Buffer
	b.Grow(2048 + (len(r.Text)+len(html))*4/3)
	writeHeader(&b, "Date", now.Format(time.RFC1123Z))
	writeHeader(&b, "From", formatAddress(fromName, strings.ToLower(cfg.From.Address)))
	writeHeader(&b, "To", formatAddress(m.ToName, to))
	if cfg.ReplyTo != "" {
		writeHeader(&b, "Reply-To", "<"+cfg.ReplyTo+">")
	}
	writeHeader(&b, "Subject", encodeText(m.Labelled(r.Subject)))
	writeHeader(&b, "Message-ID", "<"+msgID+">")
	writeHeader(&b, "MIME-Version", "1.0")
	if m.IdempotencyKey != "" && isASCII(m.IdempotencyKey) && !strings.ContainsAny(m.IdempotencyKey, "\r\n") {
		writeHeader(&b, "X-Tact-Key", m.IdempotencyKey)
	}
	if unsubURL != "" {
		b.WriteString("List-Unsubscribe: <")
		b.WriteString(unsubURL)
		b.WriteString(">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
	}
	if html == "" {
		enc := pickEncoding(r.Text)
		writeHeader(&b, "Content-Type", "text/plain; charset=utf-8")
		writeHeader(&b, "Content-Transfer-Encoding", enc)
		b.WriteString("\r\n")
		if err := encodeBody(&b, enc, r.Text); err != nil {
			return nil, err
		}
	} else {
		boundary := boundaryFor(msgID)
		writeHeader(&b, "Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
		b.WriteString("\r\n")
		if err := writeAlternative(&b, boundary, r.Text, html); err != nil {
			return nil, err
		}
	}
	raw := b.Bytes()
	if cfg.DKIM != nil {
		raw, err = cfg.DKIM.sign(raw)
		if err != nil {
			return nil, err
		}
	}
	return &Composed{EnvelopeTo: to, MessageID: msgID, Raw: raw, UnsubscribeToken: unsubToken}, nil
}

// writeAlternative writes the multipart/alternative body (text, then HTML)
// exactly as mime/multipart's Writer frames it (header keys sorted, CRLF
// before each later boundary), without its per-part buffers and maps.
func writeAlternative(b *bytes.Buffer, boundary, text, html string) error {
	for i, p := range [...]struct{ ctype, content string }{
		{"text/plain; charset=utf-8", text},
		{"text/html; charset=utf-8", html},
	} {
		if i > 0 {
			b.WriteString("\r\n")
		}
		enc := pickEncoding(p.content)
		for _, piece := range [...]string{"--", boundary, "\r\nContent-Transfer-Encoding: ", enc, "\r\nContent-Type: ", p.ctype, "\r\n\r\n"} {
			b.WriteString(piece)
		}
		if err := encodeBody(b, enc, p.content); err != nil {
			return err
		}
	}
	b.WriteString("\r\n--")
	b.WriteString(boundary)
	b.WriteString("--\r\n\r\n")
	return nil
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

// base64Chunk is the input that encodes to one full 76-character line.
const base64Chunk = 57

func encodeBody(b *bytes.Buffer, enc, s string) error {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if enc == "base64" {
		s = strings.ReplaceAll(s, "\n", "\r\n")
		if s == "" {
			b.WriteString("\r\n")
			return nil
		}
		// 57 input bytes (a multiple of 3) encode to exactly one line, so
		// encoding line by line equals encoding the whole and folding it.
		for src := []byte(s); len(src) > 0; {
			n := min(base64Chunk, len(src))
			line := base64.StdEncoding.AppendEncode(b.AvailableBuffer(), src[:n])
			b.Write(append(line, '\r', '\n'))
			src = src[n:]
		}
		return nil
	}
	qw := quotedprintable.NewWriter(b)
	if _, err := io.WriteString(qw, s); err != nil {
		return err
	}
	if err := qw.Close(); err != nil {
		return err
	}
	if !strings.HasSuffix(s, "\n") {
		b.WriteString("\r\n")
	}
	return nil
}

func insertPreheader(html, pre string) string {
	div := `<div style="display:none;max-height:0;overflow:hidden">` + stdhtml.EscapeString(pre) + `</div>`
	if i := indexFoldASCII(html, "<body"); i >= 0 {
		if j := strings.IndexByte(html[i:], '>'); j >= 0 {
			k := i + j + 1
			return html[:k] + div + html[k:]
		}
	}
	return div + html
}

// indexFoldASCII is the first index of the lower-case ASCII word in s,
// ignoring ASCII case, without lower-casing all of s.
func indexFoldASCII(s, word string) int {
	for i := 0; i+len(word) <= len(s); i++ {
		j := 0
		for j < len(word) && lowerASCII(s[i+j]) == word[j] {
			j++
		}
		if j == len(word) {
			return i
		}
	}
	return -1
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
