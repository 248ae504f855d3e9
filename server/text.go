package server

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// badText explains why s cannot be accepted as text: invalid UTF-8, a NUL
// byte or U+FFFD (what a decoder puts in place of damaged text). encoding/json
// replaces invalid bytes and lone surrogates with U+FFFD silently, so this
// runs on the decoded strings of the raw body before anything is used.
func badText(s string) string {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return "contains invalid UTF-8"
		case r == utf8.RuneError:
			return "contains U+FFFD (damaged text)"
		case r == 0:
			return "contains a NUL byte"
		}
		i += n
	}
	return ""
}

// checkJSONText walks a JSON body and refuses the first key or string
// value holding malformed text, naming its path ("batch[2].traits.email").
// Syntax errors are left to the decoder that runs next.
func checkJSONText(data []byte) *apiError {
	if utf8.Valid(data) && !bytes.Contains(data, []byte(`\u`)) && !bytes.Contains(data, []byte("\uFFFD")) {
		return nil // fast path: nothing can decode to bad text
	}
	type frame struct {
		object bool
		key    string
		index  int
		atKey  bool
	}
	var stack []frame
	path := func() string {
		var b bytes.Buffer
		for i, f := range stack {
			switch {
			case f.object && f.key != "":
				if i > 0 || b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			case !f.object:
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		return string(bytes.TrimPrefix(b.Bytes(), []byte(".")))
	}
	// afterValue advances the enclosing container past one value.
	afterValue := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].atKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		// The decoder has already replaced invalid bytes: look at the raw
		// ones to say which it was.
		textMsg := func(v string) string {
			if !utf8.Valid(data[start:dec.InputOffset()]) {
				return "contains invalid UTF-8"
			}
			return badText(v)
		}
		top := len(stack) - 1
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{object: true, atKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:top]
				afterValue()
			}
		case string:
			if top >= 0 && stack[top].object && stack[top].atKey {
				stack[top].key, stack[top].atKey = v, false
				if msg := textMsg(v); msg != "" {
					return badRequest(path(), "key %s", msg)
				}
				continue
			}
			if msg := textMsg(v); msg != "" {
				return badRequest(path(), "%s", msg)
			}
			afterValue()
		default:
			afterValue()
		}
	}
}

// textErrorf is badRequest for a named field with malformed text.
func textErrorf(field, s string) *apiError {
	if msg := badText(s); msg != "" {
		return badRequest(field, "%s", msg)
	}
	return nil
}
