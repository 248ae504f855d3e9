package templates

import (
	"html"
	"strings"
)

// The HTML-to-text conversion as it was before it was made cheaper, kept
// as the reference the fast one must equal byte for byte (with the same
// fix in refTagEnd: a trailing "<" no longer panics).

var refBlockTags = map[string]bool{ //nolint:gochecknoglobals // read-only after initialisation
	"p": true, "div": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"tr": true, "table": true, "ul": true, "ol": true, "blockquote": true, "section": true,
	"header": true, "footer": true, "hr": true,
}

var refDroppedTags = map[string]bool{"head": true, "style": true, "script": true, "title": true} //nolint:gochecknoglobals // read-only after initialisation

// refHTMLToText derives a plain-text part from an email's HTML: it drops the
// head, styles, scripts and refHidden (display:none) preheaders, turns links
// into "text (URL)", block elements into blank lines, <br> into line breaks
// and list items into "- " lines, decodes entities and collapses whitespace.
// It is a single pass meant for the well-formed HTML of templates, not
// arbitrary web pages.
func refHTMLToText(s string) string {
	var out strings.Builder
	out.Grow(len(s) / 2)
	var link *strings.Builder // text of the <a> being read
	href := ""
	write := func(t string) {
		if link != nil {
			link.WriteString(t)
		} else {
			out.WriteString(t)
		}
	}
	for i := 0; i < len(s); {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			write(refTextChunk(s[i:]))
			break
		}
		if lt > 0 {
			write(refTextChunk(s[i : i+lt]))
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
		end := refTagEnd(s, i)
		tag := s[i+1 : end]
		i = end + 1
		closing := strings.HasPrefix(tag, "/")
		name, attrs := refTagName(strings.TrimPrefix(tag, "/"))
		switch {
		case !closing && (refDroppedTags[name] || ((name == "div" || name == "span") && refHidden(attrs))):
			i = refSkipElement(s, i, name)
		case name == "a" && !closing:
			href = refAttr(attrs, "href")
			link = &strings.Builder{}
		case name == "a" && closing && link != nil:
			text := strings.Join(strings.Fields(link.String()), " ")
			link = nil
			target := strings.TrimPrefix(href, "mailto:")
			switch {
			case href == "":
				out.WriteString(text)
			case text == "" || text == target:
				out.WriteString(" " + target + " ")
			default:
				out.WriteString(text + " (" + href + ")")
			}
		case name == "br":
			write("\n")
		case name == "li" && !closing:
			write("\n- ")
		case (name == "td" || name == "th") && closing:
			write(" ")
		case refBlockTags[name]:
			write("\n\n")
		}
	}
	if link != nil { // unclosed <a>
		out.WriteString(link.String() + " (" + href + ")")
	}
	return refTidy(out.String())
}

// refTextChunk decodes entities and turns line breaks into spaces.
func refTextChunk(t string) string {
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

// refTagEnd finds the '>' closing the tag opened at s[i], honouring quotes.
func refTagEnd(s string, i int) int {
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
	// The fix HTMLToText got: empty when the "<" is the last byte.
	return max(len(s)-1, i+1)
}

func refTagName(tag string) (name, attrs string) {
	n := 0
	for n < len(tag) && tag[n] != ' ' && tag[n] != '\t' && tag[n] != '\n' && tag[n] != '\r' && tag[n] != '/' {
		n++
	}
	return refAsciiLower(tag[:n]), tag[n:]
}

// refAttr returns the (entity-decoded) value of attribute key.
func refAttr(attrs, key string) string {
	lower := refAsciiLower(attrs)
	for from := 0; ; {
		k := strings.Index(lower[from:], key)
		if k < 0 {
			return ""
		}
		k += from
		from = k + len(key)
		if k > 0 && lower[k-1] != ' ' && lower[k-1] != '\t' && lower[k-1] != '\n' {
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

func refHidden(attrs string) bool {
	style := strings.ReplaceAll(strings.ToLower(refAttr(attrs, "style")), " ", "")
	return strings.Contains(style, "display:none")
}

// refSkipElement returns the index after the element named name that starts
// before i, counting nested elements of the same name.
func refSkipElement(s string, i int, name string) int {
	depth := 1
	for i < len(s) {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			return len(s)
		}
		i += lt
		end := refTagEnd(s, i)
		tag := s[i+1 : end]
		i = end + 1
		closing := strings.HasPrefix(tag, "/")
		if n, _ := refTagName(strings.TrimPrefix(tag, "/")); n == name {
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

// refAsciiLower lower-cases A-Z only, keeping byte offsets unchanged.
func refAsciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// refTidy collapses spaces, trims lines and keeps at most one blank line. It
// writes each line's words straight into the result (no split slices).
func refTidy(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 1)
	blank := 0
	started := false
	for more := true; more; {
		var line string
		line, s, more = strings.Cut(s, "\n")
		first := true
		for line != "" {
			word := strings.IndexFunc(line, refNotSpace)
			if word < 0 {
				break
			}
			line = line[word:]
			end := strings.IndexFunc(line, refIsSpace)
			if end < 0 {
				end = len(line)
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
			b.WriteString(line[:end])
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

// refIsSpace is what refTidy collapses within a line.
func refIsSpace(r rune) bool {
	return r == ' ' || r == '\u00a0' || r == '\t' || r == '\f' || r == '\v'
}

func refNotSpace(r rune) bool { return !refIsSpace(r) }
