package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// htmlToTextCases are the shapes HTMLToText must convert exactly as its
// reference does: links of every kind, hidden and dropped elements, upper
// case, entities, U+00A0 and other Unicode spaces, unclosed tags.
var htmlToTextCases = []string{ //nolint:gochecknoglobals // read-only test table
	"",
	"plain",
	"<p>a\r\nb\tc</p><p>d</p>",
	`<A HREF="https://x.example/?a=1&amp;b=2">Go  <B>now</B>&nbsp;</A>`,
	`<a href="mailto:me@x.example">me@x.example</a> <a href="https://y">https://y</a> <a href=''> t </a>`,
	`<a href=https://z>\u00a0\u2003 </a><a>no href</a>`,
	`<a href="https://u">first<a href="https://v">second</a>`,
	`<a href="https://open">never closed`,
	`</a>stray close<br/><li>item<td>c</td><th>h</th>`,
	`<div style="DISPLAY: none">hidden<div>nested</div>still</div>after`,
	`<span style="display:none">pre</span><HEAD><title>T</title></HEAD>body`,
	`<!-- comment --><p>x</p><!-- unclosed`,
	"a\u00a0\u00a0b \f\v c\n\n\n\nd\u0085e",
	"<p>&#10;&lt;entity&gt;\n&amp;amp;</p>",
	"\xc2<span>\xa0</span>\xc2\xa0x\xff y",
	`<table><tr><td>1</td><td>2</td></tr></table><ul><li>a</li></ul><hr><h1>H</h1>`,
	`<p class="x>y">quoted > in attribute</p><p`,
	"<script>var a = '<p>';</script><style>p{}</style>text",
}

func TestHTMLToTextMatchesReference(t *testing.T) {
	t.Parallel()
	for _, in := range htmlToTextCases {
		require.Equal(t, refHTMLToText(in), HTMLToText(in), "%q", in)
	}
	// The example templates' HTML, as a send renders it.
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "templates", "*.html"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		require.Equal(t, refHTMLToText(string(src)), HTMLToText(string(src)), f)
	}
}

func FuzzHTMLToText(f *testing.F) {
	for _, in := range htmlToTextCases {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		require.Equal(t, refHTMLToText(in), HTMLToText(in), "%q", in)
	})
}

// TestHTMLToTextUnclosedTag: HTML ending in "<" (a template's typo) gives
// text instead of a panic; a tag left open at the end is dropped as before.
func TestHTMLToTextUnclosedTag(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"<", "\n"},
		{"text<", "text\n"},
		{"<p>a</p><", "a\n"},
		{"<head><title>x<", "\n"},
		{"a<p", "a\n"},
	}
	for _, tc := range tests {
		require.NotPanics(t, func() { require.Equal(t, tc.want, HTMLToText(tc.in), "%q", tc.in) }, "%q", tc.in)
	}
}

func FuzzAppendFields(f *testing.F) {
	for _, s := range []string{"", " a  b ", "a\u00a0b\u2003c\u3000d\u1680e\u0085f", "\xe2\x80", "\xe0\xe2\x80\x80x", "สวัสดี ค่ะ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		require.Equal(t, strings.Join(strings.Fields(s), " "), string(appendFields([]byte("x"), []byte(s)))[1:], "%q", s)
	})
}
