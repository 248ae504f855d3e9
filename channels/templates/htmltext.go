package templates

import (
	"bytes"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// HTMLToText derives a plain-text part from an email's HTML: it drops the
// head, styles, scripts and hidden (display:none) preheaders, turns links
// into "text (URL)", block elements into blank lines, <br> into line breaks
// and list items into "- " lines, decodes entities and collapses whitespace.
// It is a single pass meant for the well-formed HTML of templates, not
// arbitrary web pages.
func HTMLToText(s string) string {
	// Markup usually outweighs the URLs that links repeat in the text: the
	// text fits in the HTML's length.
	w := textWriter{out: make([]byte, 0, len(s)), link: -1}
	href := ""
	for i := 0; i < len(s); {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			w.text(s[i:])
			break
		}
		if lt > 0 {
			w.text(s[i : i+lt])
		}
		i += lt
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		end := tagEnd(s, i)
		tag := s[i+1 : end]
		i = end + 1
		closing := strings.HasPrefix(tag, "/")
		name, attrs := tagName(strings.TrimPrefix(tag, "/"))
		switch {
		case !closing && (droppedTag(name) || ((name == "div" || name == "span") && hidden(attrs))):
			i = skipElement(s, i, name)
		case name == "a" && !closing:
			href = attr(attrs, "href")
			if w.link >= 0 { // an <a> inside an <a>: the outer one's text is dropped
				w.out = w.out[:w.link]
			}
			w.link = len(w.out)
		case name == "a" && closing && w.link >= 0:
			w.closeLink(href)
		case name == "br":
			w.write("\n")
		case name == "li" && !closing:
			w.write("\n- ")
		case (name == "td" || name == "th") && closing:
			w.write(" ")
		case blockTag(name):
			w.write("\n\n")
		}
	}
	if w.link >= 0 { // unclosed <a>: its text as read, then the URL
		w.out = append(append(append(w.out, " ("...), href...), ')')
	}
	return tidy(w.out)
}

// textWriter collects HTMLToText's output before tidy. The text of an <a>
// being read is written from out[link] on, and rewritten with its URL at
// </a>; link is -1 outside links.
type textWriter struct {
	out  []byte
	link int
}

func (w *textWriter) write(t string) { w.out = append(w.out, t...) }

// closeLink rewrites the link's text with its white space collapsed, as
// "text (URL)", " URL " when the text is empty or the URL itself, or the
// text alone without a URL.
func (w *textWriter) closeLink(href string) {
	// Collapsing in place: it never writes past what it has read.
	start := w.link
	w.out = appendFields(w.out[:start], w.out[start:])
	w.link = -1
	text := w.out[start:]
	target := strings.TrimPrefix(href, "mailto:")
	switch {
	case href == "":
	case len(text) == 0 || string(text) == target:
		w.out = append(append(append(w.out[:start], ' '), target...), ' ')
	default:
		w.out = append(append(append(w.out, " ("...), href...), ')')
	}
}

// text writes a run of text with its line breaks and tabs as spaces and
// its entities decoded (in that order: a decoded "&#10;" stays a newline).
func (w *textWriter) text(t string) {
	if strings.IndexByte(t, '&') >= 0 {
		w.write(textChunk(t))
		return
	}
	from := len(w.out)
	w.out = append(w.out, t...)
	for i, c := range w.out[from:] {
		if c <= '\r' && (c == '\r' || c == '\n' || c == '\t') {
			w.out[from+i] = ' '
		}
	}
}

func blockTag(name string) bool {
	switch name {
	case "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "ul", "ol", "blockquote", "section", "header", "footer", "hr":
		return true
	}
	return false
}

// droppedTag names the elements whose content is not text.
func droppedTag(name string) bool {
	switch name {
	case "head", "style", "script", "title":
		return true
	}
	return false
}

// appendFields appends s's words (split at Unicode white space) joined by
// single spaces: strings.Join(strings.Fields(s), " ") without the slices.
func appendFields(dst, s []byte) []byte {
	start, gap := len(dst), false
	for i := 0; i < len(s); {
		c, size, space := s[i], 1, false
		switch {
		case c < utf8.RuneSelf:
			space = c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
		case c == 0xc2 || c == 0xe1 || c == 0xe2 || c == 0xe3:
			// The lead bytes of U+0085, U+00A0 and the spaces from U+1680
			// to U+3000: only these can start a non-ASCII space (and no
			// other character's UTF-8 contains them).
			var r rune
			r, size = utf8.DecodeRune(s[i:])
			space = unicode.IsSpace(r)
		}
		if space {
			gap = len(dst) > start
		} else {
			if gap {
				dst = append(dst, ' ')
				gap = false
			}
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// textChunk decodes entities and turns line breaks into spaces.
func textChunk(t string) string {
	if strings.ContainsAny(t, "\r\n\t") {
		b := []byte(t)
		for i, c := range b {
			if c == '\r' || c == '\n' || c == '\t' {
				b[i] = ' '
			}
		}
		t = string(b)
	}
	return html.UnescapeString(t)
}

// tagEnd finds the '>' closing the tag opened at s[i], honouring quotes.
func tagEnd(s string, i int) int {
	var quote byte
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return j
		}
	}
	// Unclosed: the tag is taken to end before the last byte, and is
	// empty when the "<" is that byte (which used to slice past the end).
	return max(len(s)-1, i+1)
}

func tagName(tag string) (name, attrs string) {
	n := 0
	for n < len(tag) && tag[n] != ' ' && tag[n] != '\t' && tag[n] != '\n' && tag[n] != '\r' && tag[n] != '/' {
		n++
	}
	return asciiLower(tag[:n]), tag[n:]
}

// attr returns the (entity-decoded) value of attribute key.
func attr(attrs, key string) string {
	for from := 0; ; {
		k := indexFold(attrs[from:], key)
		if k < 0 {
			return ""
		}
		k += from
		from = k + len(key)
		if k > 0 && attrs[k-1] != ' ' && attrs[k-1] != '\t' && attrs[k-1] != '\n' {
			continue
		}
		rest := strings.TrimLeft(attrs[from:], " \t\n")
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		rest = strings.TrimLeft(rest[1:], " \t\n")
		if rest == "" {
			return ""
		}
		if q := rest[0]; q == '"' || q == '\'' {
			if e := strings.IndexByte(rest[1:], q); e >= 0 {
				return html.UnescapeString(rest[1 : 1+e])
			}
			return html.UnescapeString(rest[1:])
		}
		e := strings.IndexAny(rest, " \t\n>")
		if e < 0 {
			e = len(rest)
		}
		return html.UnescapeString(rest[:e])
	}
}

// indexFold is the first index of the lower-case ASCII word in s, ignoring
// ASCII case (the index in asciiLower(s), without lower-casing s).
func indexFold(s, word string) int {
	for i := 0; i+len(word) <= len(s); i++ {
		j := 0
		for j < len(word) && (s[i+j] == word[j] || s[i+j]+('a'-'A') == word[j] && s[i+j] >= 'A' && s[i+j] <= 'Z') {
			j++
		}
		if j == len(word) {
			return i
		}
	}
	return -1
}

func hidden(attrs string) bool {
	style := strings.ReplaceAll(strings.ToLower(attr(attrs, "style")), " ", "")
	return strings.Contains(style, "display:none")
}

// skipElement returns the index after the element named name that starts
// before i, counting nested elements of the same name.
func skipElement(s string, i int, name string) int {
	depth := 1
	for i < len(s) {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			return len(s)
		}
		i += lt
		end := tagEnd(s, i)
		tag := s[i+1 : end]
		i = end + 1
		closing := strings.HasPrefix(tag, "/")
		if n, _ := tagName(strings.TrimPrefix(tag, "/")); n == name {
			if closing {
				depth--
				if depth == 0 {
					return i
				}
			} else if !strings.HasSuffix(tag, "/") {
				depth++
			}
		}
	}
	return len(s)
}

// asciiLower lower-cases A-Z only, keeping byte offsets unchanged (and s
// itself when it has no upper case, as template HTML mostly has not).
func asciiLower(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// tidy collapses spaces, trims lines and keeps at most one blank line. It
// writes each line's words straight into the result (no split slices).
func tidy(s []byte) string {
	var b strings.Builder
	b.Grow(len(s) + 1)
	blank := 0
	started := false
	for more := true; more; {
		line := s
		if nl := bytes.IndexByte(s, '\n'); nl >= 0 {
			line, s = s[:nl], s[nl+1:]
		} else {
			more = false
		}
		first := true
		for {
			word := 0
			for word < len(line) && spaceAt(line, word) > 0 {
				word += spaceAt(line, word)
			}
			if word == len(line) {
				break
			}
			line = line[word:]
			end := 0
			for end < len(line) {
				if c := line[end]; (c <= ' ' || c == 0xc2) && spaceAt(line, end) > 0 {
					break
				}
				end++
			}
			switch {
			case !first:
				b.WriteByte(' ')
			case started:
				b.WriteByte('\n')
				if blank > 0 {
					b.WriteByte('\n')
				}
			}
			b.Write(line[:end])
			line = line[end:]
			first = false
		}
		if first {
			blank++
			continue
		}
		started = true
		blank = 0
	}
	b.WriteByte('\n')
	return b.String()
}

// spaceAt is the length of the space tidy collapses at s[i] (space, tab,
// form feed, vertical tab, or U+00A0 in UTF-8), 0 when there is none. Byte
// by byte is the same as rune by rune: none of these bytes is ever inside
// another character's UTF-8.
func spaceAt(s []byte, i int) int {
	switch s[i] {
	case ' ', '\t', '\f', '\v':
		return 1
	case 0xc2:
		if i+1 < len(s) && s[i+1] == 0xa0 {
			return 2
		}
	}
	return 0
}
