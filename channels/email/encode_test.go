package email

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// referenceEncodeBody is the encoder Compose used before it wrote the
// encodings itself: the whole body as one string, through
// mime/quotedprintable or folded base64.
func referenceEncodeBody(t testing.TB, enc, s string) string {
	t.Helper()
	var b bytes.Buffer
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if enc == "base64" {
		s = strings.ReplaceAll(s, "\n", "\r\n")
		if s == "" {
			return "\r\n"
		}
		for src := []byte(s); len(src) > 0; {
			n := min(base64Chunk, len(src))
			b.WriteString(base64.StdEncoding.EncodeToString(src[:n]) + "\r\n")
			src = src[n:]
		}
		return b.String()
	}
	qw := quotedprintable.NewWriter(&b)
	_, err := io.WriteString(qw, s)
	require.NoError(t, err)
	require.NoError(t, qw.Close())
	if !strings.HasSuffix(s, "\n") {
		b.WriteString("\r\n")
	}
	return b.String()
}

// checkEncodeBody compares encodeBody on s cut into pieces at cut1 <= cut2
// with the reference on the whole of s, in both encodings.
func checkEncodeBody(t *testing.T, s string, cut1, cut2 int) {
	t.Helper()
	pieces := []string{s[:cut1], s[cut1:cut2], s[cut2:]}
	for _, enc := range []string{"base64", "quoted-printable"} {
		var b bytes.Buffer
		b.WriteString("prefix:")
		encodeBody(&b, enc, pieces...)
		require.Equal(t, "prefix:"+referenceEncodeBody(t, enc, s), b.String(), "%s of %q cut at %d, %d", enc, s, cut1, cut2)
	}
}

func TestEncodeBodyMatchesReference(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 75)
	tests := []struct {
		name string
		s    string
	}{
		{"empty", ""},
		{"no final newline", "hello"},
		{"final newline", "hello\n"},
		{"CRLF and CR", "a\r\nb\rc\r\r\nd\n\r"},
		{"CR before the cut's LF", "ab\r\ncd"},
		{"trailing space before newline", "a \nb\t\nc "},
		{"soft breaks", long + "=" + long + " " + long + "\t" + long},
		{"equals and controls", "x=y\x00\x7f\xff"},
		{"Thai", strings.Repeat("สวัสดีค่ะ\n", 20)},
		{"exactly one base64 line", strings.Repeat("b", base64Chunk)},
		{"one byte over", strings.Repeat("b", base64Chunk+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for cut1 := 0; cut1 <= len(tc.s); cut1++ {
				checkEncodeBody(t, tc.s, cut1, cut1+(len(tc.s)-cut1)/2)
				checkEncodeBody(t, tc.s, cut1, len(tc.s))
			}
		})
	}
}

func FuzzEncodeBody(f *testing.F) {
	f.Add("a\r\nb\rc\r\r\nd \n", uint8(3), uint8(5))
	f.Add(strings.Repeat("x ", 80), uint8(70), uint8(90))
	f.Add("ยินดีต้อนรับ\n<p>=</p>\t", uint8(1), uint8(2))
	f.Fuzz(func(t *testing.T, s string, a, b uint8) {
		cut1 := min(int(a), len(s))
		cut2 := min(cut1+int(b), len(s))
		checkEncodeBody(t, s, cut1, cut2)
	})
}

// referenceBEncode is bEncode as it was, with a new string for each word.
func referenceBEncode(s string) string {
	var out strings.Builder
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
		out.WriteString("=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(s[:n])) + "?=")
		s = s[n:]
	}
	return out.String()
}

func FuzzBEncode(f *testing.F) {
	for _, s := range []string{"", "ร้านกาแฟ Tact", strings.Repeat("ยินดีต้อนรับ ", 9), "\xff\xfe", strings.Repeat("a", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		require.Equal(t, referenceBEncode(s), bEncode(s), "%q", s)
	})
}
