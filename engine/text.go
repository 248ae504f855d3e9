package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// badText explains why s cannot be stored as text: invalid UTF-8, a NUL
// byte, or U+FFFD (a decoder's replacement for damaged text, which would
// otherwise be stored silently). It returns the byte offset of the first
// offending byte, or -1 when s is fine.
func badText(s string) (int, string) {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf && c != 0 {
			i++ // ASCII, most of the text: no rune to decode
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return i, fmt.Sprintf("invalid UTF-8 (byte 0x%02x at byte %d)", s[i], i+1)
		case r == utf8.RuneError:
			return i, fmt.Sprintf("U+FFFD replacement character at byte %d (the text was damaged before it got here)", i+1)
		case r == 0:
			return i, fmt.Sprintf("NUL byte at byte %d", i+1)
		}
		i += n
	}
	return -1, ""
}

// plainASCII is true for ASCII text without a NUL byte, which badText
// always passes: most raw JSON values are, and need no copy to check.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf || c == 0 {
			return false
		}
	}
	return true
}

// badValue applies badText to every string in a decoded value.
func badValue(v any) (int, string) {
	switch x := v.(type) {
	case string:
		return badText(x)
	case []any:
		for _, it := range x {
			if at, msg := badValue(it); at >= 0 {
				return at, msg
			}
		}
	case map[string]any:
		for k, it := range x {
			if at, msg := badText(k); at >= 0 {
				return at, "key: " + msg
			}
			if at, msg := badValue(it); at >= 0 {
				return at, msg
			}
		}
	}
	return -1, ""
}

// badCell applies badText to a present cell of any input format. JSON
// escapes are decoded first, so "\u0000" and lone surrogates (which the
// decoder turns into U+FFFD) are caught too.
func badCell(c cell) (int, string) {
	if !c.present {
		return -1, ""
	}
	switch c.kind {
	case cellText:
		return badText(c.text)
	case cellJSON:
		if !plainASCII(c.raw) {
			if at, msg := badText(string(c.raw)); at >= 0 {
				return at, msg
			}
		}
		if !bytes.Contains(c.raw, []byte(`\u`)) {
			return -1, ""
		}
		var v any
		if json.Unmarshal(c.raw, &v) != nil {
			return -1, ""
		}
		return badValue(v)
	}
	return badValue(c.val)
}

// checkRowText refuses a row holding malformed text, naming the line,
// column and field.
func (rc *rowCtx) checkRowText() error {
	for i, c := range rc.cells {
		at, msg := badCell(c)
		if at < 0 {
			continue
		}
		line, col := rc.r.pos(i)
		if line == 0 {
			line = rc.line
		}
		if col > 0 && c.kind == cellText && !strings.ContainsAny(c.text, "\"\n") {
			col += at
		}
		field := ""
		if i < len(rc.h.names) {
			field = rc.h.names[i]
		}
		return &ImportError{File: rc.h.file, Line: line, Column: col, Field: field, Msg: msg}
	}
	return nil
}
