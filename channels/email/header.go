package email

import (
	"bytes"
	"encoding/base64"
	"net/mail"
	"strings"
	"unicode/utf8"
)

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// encodeText encodes an unstructured header value (Subject): ASCII stays as
// is, anything else becomes RFC 2047 B-encoded UTF-8 words.
func encodeText(s string) string {
	if isASCII(s) {
		return s
	}
	return bEncode(s)
}

// maxWordBytes keeps every encoded word at most 68 characters
// ("=?utf-8?b?" + 56 base64 + "?="), so that even after "Subject: " a line
// stays within 78 characters (RFC 2047 §2 allows 75 per word).
const maxWordBytes = 42

// bEncode encodes s as space-separated RFC 2047 B words of UTF-8, never
// splitting a character across words.
func bEncode(s string) string {
	var out strings.Builder
	out.Grow((len(s)/maxWordBytes + 1) * (len("=?utf-8?b??= ") + base64.StdEncoding.EncodedLen(maxWordBytes)))
	// Each word is encoded through arrays on the stack, not new strings.
	var src [maxWordBytes]byte
	var enc [(maxWordBytes + 2) / 3 * 4]byte
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > maxWordBytes {
				break
			}
			n += size
		}
		if out.Len() > 0 {
			out.WriteByte(' ')
		}
		out.WriteString("=?utf-8?b?")
		copy(src[:], s[:n])
		e := enc[:base64.StdEncoding.EncodedLen(n)]
		base64.StdEncoding.Encode(e, src[:n])
		out.Write(e)
		out.WriteString("?=")
		s = s[n:]
	}
	return out.String()
}

// formatAddress renders "Name <addr>" with the display name quoted (ASCII)
// or B-encoded (non-ASCII).
func formatAddress(name, addr string) string {
	if name == "" {
		return "<" + addr + ">"
	}
	if isASCII(name) {
		return (&mail.Address{Name: name, Address: addr}).String()
	}
	return bEncode(name) + " <" + addr + ">"
}

// writeHeader appends "Key: value\r\n", folding at spaces so lines stay
// within 78 characters where possible (RFC 5322 §2.2.3). Encoded words never
// contain spaces, so folding never breaks one.
func writeHeader(b *bytes.Buffer, key, value string) {
	b.WriteString(key)
	b.WriteString(": ")
	col := len(key) + 2
	for i := 0; ; i++ {
		w, rest, more := strings.Cut(value, " ")
		if i > 0 {
			if col+1+len(w) > 78 {
				b.WriteString("\r\n ")
				col = 1
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(w)
		col += len(w)
		if !more {
			break
		}
		value = rest
	}
	b.WriteString("\r\n")
}
