package templates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf16"
	"unicode/utf8"
)

// LINE message limits (Messaging API reference, "Message objects").
const (
	// LINEMaxMessages is the most message objects one push or multicast
	// request carries.
	LINEMaxMessages = 5
	// LINEMaxText is the most characters (UTF-16 code units) of a text
	// message.
	LINEMaxText = 5000
	// LINEMaxAltText is the most characters of a Flex message's altText.
	LINEMaxAltText = 1500
	// LINEMaxURL is the most characters of an image URL.
	LINEMaxURL = 2000
	// LINEMaxBubble and LINEMaxCarousel bound the JSON size of a Flex
	// bubble and of a whole carousel; LINEMaxBubbles is the most bubbles
	// in a carousel.
	LINEMaxBubble   = 30 << 10
	LINEMaxCarousel = 50 << 10
	LINEMaxBubbles  = 12
)

// jsonString is the escaping function appended to every printing action of a
// LINE template: nil prints as "", anything else as the content of a JSON
// string (quotes, backslashes and control characters escaped), so a trait
// value can never break out of the string it is placed in.
func jsonString(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(str(v)) // a string always encodes
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	return string(out[1 : len(out)-1])
}

// lineProblem is one structural problem of a rendered LINE message array,
// located by its byte offset in the rendered text and a JSON pointer.
type lineProblem struct {
	offset  int64
	pointer string
	msg     string
}

// checkLINE validates a rendered LINE template: a JSON array of 1 to
// LINEMaxMessages message objects of a known type (text, image, flex) within
// LINE's size limits. It returns the array compacted. At load time (strict
// false) the template is rendered with every trait and payload value
// missing, so a field that rendered empty may be a placeholder-only value:
// its key must be present, and it must be non-empty only when strict (at
// send time).
func checkLINE(rendered string, strict bool) (json.RawMessage, *lineProblem) {
	dec := json.NewDecoder(strings.NewReader(rendered))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxProblem(err, dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, &lineProblem{pointer: "", msg: "must be a JSON array of LINE message objects"}
	}
	n := 0
	for dec.More() {
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntaxProblem(err, dec)
		}
		start += int64(len(rendered[start:]) - len(strings.TrimLeft(rendered[start:], " \t\r\n,")))
		if p := checkLINEMessage(raw, n, strict); p != nil {
			p.offset = start
			return nil, p
		}
		n++
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxProblem(err, dec)
	}
	if dec.More() {
		return nil, &lineProblem{offset: dec.InputOffset(), msg: "unexpected data after the message array"}
	}
	if _, err := dec.Token(); err == nil {
		return nil, &lineProblem{offset: dec.InputOffset(), msg: "unexpected data after the message array"}
	}
	switch {
	case n == 0:
		return nil, &lineProblem{msg: "needs at least one message"}
	case n > LINEMaxMessages:
		return nil, &lineProblem{msg: fmt.Sprintf("%d messages, LINE accepts at most %d per request", n, LINEMaxMessages)}
	}
	var out bytes.Buffer
	if err := json.Compact(&out, []byte(rendered)); err != nil {
		return nil, syntaxProblem(err, dec)
	}
	return out.Bytes(), nil
}

func syntaxProblem(err error, dec *json.Decoder) *lineProblem {
	off := dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	return &lineProblem{offset: off, msg: "invalid JSON: " + err.Error()}
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// checkLINEMessage checks one message object (index i).
func checkLINEMessage(raw json.RawMessage, i int, strict bool) *lineProblem {
	at := func(field, format string, args ...any) *lineProblem {
		return &lineProblem{pointer: fmt.Sprintf("/%d%s", i, field), msg: fmt.Sprintf(format, args...)}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return at("", "must be a JSON object")
	}
	str := func(key string) (string, bool) {
		v, ok := m[key]
		if !ok {
			return "", false
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	}
	typ, _ := str("type")
	switch typ {
	case "text":
		text, ok := str("text")
		switch {
		case !ok || strict && strings.TrimSpace(text) == "":
			return at("/text", "a text message needs a non-empty string text")
		case utf16Len(text) > LINEMaxText:
			return at("/text", "text is %d characters, LINE accepts at most %d", utf16Len(text), LINEMaxText)
		}
	case "image":
		for _, k := range []string{"originalContentUrl", "previewImageUrl"} {
			u, ok := str(k)
			switch {
			case !ok || strict && u == "":
				return at("/"+k, "an image message needs %s", k)
			case u != "" && !strings.HasPrefix(u, "https://"):
				return at("/"+k, "must be an https URL")
			case len(u) > LINEMaxURL:
				return at("/"+k, "URL is longer than %d characters", LINEMaxURL)
			}
		}
	case "flex":
		alt, ok := str("altText")
		switch {
		case !ok || strict && strings.TrimSpace(alt) == "":
			return at("/altText", "a flex message needs altText (shown in notifications and chat lists)")
		case utf16Len(alt) > LINEMaxAltText:
			return at("/altText", "altText is %d characters, LINE accepts at most %d", utf16Len(alt), LINEMaxAltText)
		}
		return checkFlexContents(m["contents"], at)
	case "":
		return at("/type", "needs a type (text, image or flex)")
	default:
		return at("/type", "unsupported message type %q (want text, image or flex)", typ)
	}
	return nil
}

func checkFlexContents(raw json.RawMessage, at func(field, format string, args ...any) *lineProblem) *lineProblem {
	var c struct {
		Type     string            `json:"type"`
		Contents []json.RawMessage `json:"contents"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &c) != nil {
		return at("/contents", "a flex message needs a contents object (bubble or carousel)")
	}
	switch c.Type {
	case "bubble":
		if len(raw) > LINEMaxBubble {
			return at("/contents", "bubble is %d bytes, LINE accepts at most %d", len(raw), LINEMaxBubble)
		}
	case "carousel":
		switch {
		case len(c.Contents) == 0 || len(c.Contents) > LINEMaxBubbles:
			return at("/contents/contents", "a carousel holds 1 to %d bubbles, got %d", LINEMaxBubbles, len(c.Contents))
		case len(raw) > LINEMaxCarousel:
			return at("/contents", "carousel is %d bytes, LINE accepts at most %d", len(raw), LINEMaxCarousel)
		}
		for j, b := range c.Contents {
			if len(b) > LINEMaxBubble {
				return at(fmt.Sprintf("/contents/contents/%d", j), "bubble is %d bytes, LINE accepts at most %d", len(b), LINEMaxBubble)
			}
		}
	default:
		return at("/contents/type", "flex contents must be a bubble or a carousel, got %q", c.Type)
	}
	return nil
}

// lineError turns a problem into an *Error naming the file and the line and
// column (in characters) of the source the offending output came from. The
// rendering is traced back to the source (sourceOffsets); when that fails
// the position is that of the rendered text, which equals the source's
// except to the right of a placeholder.
func (t *Template) lineError(rendered string, p *lineProblem, d Data) *Error {
	off := int(min(max(p.offset, 0), int64(len(rendered))))
	src := rendered
	if m, ok := t.sourceOffsets(d, rendered); ok {
		src, off = t.Text, m[off]
	}
	before := src[:off]
	line := strings.Count(before, "\n") + 1 + t.bodyLine
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	detail := fmt.Sprintf("line %d, column %d", line, col)
	if p.pointer != "" {
		detail += " (" + p.pointer + ")"
	}
	return &Error{Template: t.Name, File: t.textFile, Kind: ErrLINEMessage, Detail: detail + ": " + p.msg}
}

// Markers of sourceOffsets: NUL, 'T' (text follows, byte by byte from the
// offset) or 'A' (an action's output, all at the offset), the source
// offset in decimal, SOH.
const (
	markStart, markEnd = '\x00', '\x01'
)

// sourceOffsets renders the body again with every text node and printing
// action prefixed by a marker of its source offset and returns, for every
// byte of the rendering plus its end, the source offset it came from. ok
// is false when the traced rendering differs from rendered (it cannot, but
// a wrong map must never be used).
func (t *Template) sourceOffsets(d Data, rendered string) ([]int, bool) {
	loc := d.location()
	fm := funcMap(loc)
	fm["_jsm"] = func(pos int, v any) string {
		return string(markStart) + "A" + strconv.Itoa(pos) + string(markEnd) + jsonString(v)
	}
	tt, err := template.New(partText).Funcs(fm).Option("missingkey=zero").Parse(t.Text)
	if err != nil {
		return nil, false
	}
	for _, sub := range tt.Templates() {
		if sub.Tree == nil {
			continue
		}
		walk(sub.Tree.Root, func(n parse.Node) {
			switch x := n.(type) {
			case *parse.TextNode:
				x.Text = append([]byte(string(markStart)+"T"+strconv.Itoa(int(x.Pos))+string(markEnd)), x.Text...)
			case *parse.ActionNode:
				if len(x.Pipe.Decl) > 0 {
					return
				}
				proto, perr := template.New("m").Funcs(fm).Parse("{{_jsm " + strconv.Itoa(int(x.Pos)) + "}}")
				if perr != nil {
					err = perr
					return
				}
				x.Pipe.Cmds = append(x.Pipe.Cmds, proto.Tree.Root.Nodes[0].(*parse.ActionNode).Pipe.Cmds[0])
			}
		})
	}
	out, xerr := execText(tt, d.toMap(loc, loc.String()))
	if err != nil || xerr != nil {
		return nil, false
	}
	var plain strings.Builder
	m := make([]int, 0, len(rendered)+1)
	cur, text := 0, false
	for i := 0; i < len(out); i++ {
		if out[i] == markStart {
			end := strings.IndexByte(out[i:], markEnd)
			if end < 3 {
				return nil, false
			}
			text = out[i+1] == 'T'
			if cur, err = strconv.Atoi(out[i+2 : i+end]); err != nil {
				return nil, false
			}
			i += end
			continue
		}
		plain.WriteByte(out[i])
		m = append(m, min(cur, len(t.Text)))
		if text {
			cur++
		}
	}
	m = append(m, min(cur, len(t.Text)))
	return m, plain.String() == rendered
}
