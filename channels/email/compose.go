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
	var sum [15]byte
	if idempotencyKey == "" {
		_, _ = rand.Read(sum[:])
	} else {
		var buf [128]byte // the hashed input, on the stack for any usual key
		h := sha256.Sum256(append(append(buf[:0], "tact-message-id\x00"...), idempotencyKey...))
		copy(sum[:], h[:])
	}
	var enc [24]byte
	base32.StdEncoding.Encode(enc[:], sum[:])
	for i, c := range enc {
		enc[i] = lowerASCII(c)
	}
	var out strings.Builder
	out.Grow(len("tact.") + len(enc) + 1 + len(domain))
	out.WriteString("tact.")
	out.Write(enc[:])
	out.WriteByte('@')
	out.WriteString(domain)
	return out.String()
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

	// The HTML part is written as pieces (before the preheader, the
	// preheader, after it) rather than copied into a new string.
	html := [3]string{r.HTML}
	if r.HTML != "" && r.Preheader != "" {
		html = splicePreheader(r.HTML, r.Preheader)
	}
	// One buffer holds the whole message, sized to hold it without
	// growing: the fixed headers and MIME framing (about 700 bytes), the
	// variable headers (names and subject may grow by a third and more
	// in encoded words) and the parts (base64 grows them by a third, plus
	// a CRLF each 76 characters).
	var b bytes.Buffer
	b.Grow(768 + len(to) + len(cfg.From.Address) + len(cfg.ReplyTo) + len(msgID) + len(m.IdempotencyKey) + len(unsubURL) +
		2*(len(fromName)+len(m.ToName)+len(r.Subject)) + (len(r.Text)+len(html[0])+len(html[1])+len(html[2]))*79/57)
	b.WriteString("Date: ") // 37 characters in all: never folded
	b.Write(now.AppendFormat(b.AvailableBuffer(), time.RFC1123Z))
	b.WriteString("\r\n")
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
	if r.HTML == "" {
		enc := pickEncoding(r.Text)
		writeHeader(&b, "Content-Type", "text/plain; charset=utf-8")
		writeHeader(&b, "Content-Transfer-Encoding", enc)
		b.WriteString("\r\n")
		encodeBody(&b, enc, r.Text)
	} else {
		boundary := boundaryFor(msgID)
		// 77 characters with its fixed-length boundary: one line, as
		// writeHeader would leave it.
		b.WriteString(`Content-Type: multipart/alternative; boundary="`)
		b.WriteString(boundary)
		b.WriteString("\"\r\n\r\n")
		writeAlternative(&b, boundary, r.Text, html)
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

// writeAlternative writes the multipart/alternative body (text, then HTML
// in pieces) exactly as mime/multipart's Writer frames it (header keys
// sorted, CRLF before each later boundary), without its per-part buffers
// and maps.
func writeAlternative(b *bytes.Buffer, boundary, text string, html [3]string) {
	writePart(b, boundary, "text/plain; charset=utf-8", text)
	b.WriteString("\r\n")
	writePart(b, boundary, "text/html; charset=utf-8", html[:]...)
	b.WriteString("\r\n--")
	b.WriteString(boundary)
	b.WriteString("--\r\n\r\n")
}

func writePart(b *bytes.Buffer, boundary, ctype string, content ...string) {
	enc := pickEncoding(content...)
	for _, piece := range [...]string{"--", boundary, "\r\nContent-Transfer-Encoding: ", enc, "\r\nContent-Type: ", ctype, "\r\n\r\n"} {
		b.WriteString(piece)
	}
	encodeBody(b, enc, content...)
}

// boundaryFor is "tact-" and 24 base64url characters of a hash of the
// Message-ID.
func boundaryFor(msgID string) string {
	var buf [128]byte // the hashed input, on the stack for any usual id
	h := sha256.Sum256(append(append(buf[:0], "boundary\x00"...), msgID...))
	var out [5 + 24]byte
	copy(out[:], "tact-")
	base64.RawURLEncoding.Encode(out[5:], h[:18])
	return string(out[:])
}

func insertPreheader(html, pre string) string {
	p := splicePreheader(html, pre)
	return p[0] + p[1] + p[2]
}

// splicePreheader is html with the hidden preheader div right after the
// <body> tag (or first when there is none), as three pieces.
func splicePreheader(html, pre string) [3]string {
	div := `<div style="display:none;max-height:0;overflow:hidden">` + stdhtml.EscapeString(pre) + `</div>`
	if i := indexFoldASCII(html, "<body"); i >= 0 {
		if j := strings.IndexByte(html[i:], '>'); j >= 0 {
			k := i + j + 1
			return [3]string{html[:k], div, html[k:]}
		}
	}
	return [3]string{div, html}
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
