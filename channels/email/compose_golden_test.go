package email

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/compose/*.eml from the current Compose")

// goldenMessages covers every shape Compose writes: Thai marketing mail
// (base64 parts, preheader, List-Unsubscribe, B-encoded names), a
// transactional receipt, an HTML template with a text companion, a
// text-only template in quoted-printable, and a Reply-To.
func goldenMessages(t testing.TB) (Config, map[string]channels.Message) {
	t.Helper()
	cfg := testConfig(t)
	plain, err := templates.New("plain", templates.ChannelEmail, "plain.email.txt", `---
purpose: transactional
subject: "Your code, {{ .traits.first_name | default \"friend\" }}"
---
Hello {{ .traits.first_name | default "friend" }},

a line long enough to need a soft break in quoted-printable: `+"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"+` = é
no final newline`, false, "", "")
	require.NoError(t, err)
	all := []*templates.Template{plain}
	for _, n := range cfg.Templates.Names() {
		tpl, err := cfg.Templates.Lookup(n)
		require.NoError(t, err)
		all = append(all, tpl)
	}
	set, err := templates.NewSet(all...)
	require.NoError(t, err)
	cfg.Templates = set
	cfg.ReplyTo = "help@coffee.example.com"
	require.NoError(t, cfg.setDefaults())
	winback := welcome("dao@example.net", 9)
	winback.Template = "winback"
	code := receipt("anan@example.net")
	code.Template, code.ToName = "plain", "Anan \"A\" K."
	return cfg, map[string]channels.Message{
		"welcome": welcome("somchai@example.net", 7),
		"receipt": receipt("anan@example.net"),
		"winback": winback,
		"plain":   code,
	}
}

// TestComposeGoldenBytes pins Compose's whole output byte for byte, so a
// faster composition cannot change a message.
func TestComposeGoldenBytes(t *testing.T) {
	t.Parallel()
	cfg, msgs := goldenMessages(t)
	for name, m := range msgs {
		c, err := Compose(&cfg, m)
		require.NoError(t, err, name)
		file := filepath.Join("testdata", "compose", name+".eml")
		if *updateGolden {
			require.NoError(t, os.WriteFile(file, c.Raw, 0o600))
			continue
		}
		want, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Equal(t, string(want), string(c.Raw), name)
	}
}

// TestInsertPreheaderAfterBody: the hidden preheader goes right after the
// <body> tag however the tag is written, even when earlier text lower-cases
// to a different length (İ is 2 bytes, its lower case 3).
func TestInsertPreheaderAfterBody(t *testing.T) {
	t.Parallel()
	div := `<div style="display:none;max-height:0;overflow:hidden">a &amp; &lt;b&gt; &#34;c&#39;</div>`
	tests := []struct{ name, html, want string }{
		{"plain", "<html><body><p>x</p></body></html>", "<html><body>" + div + "<p>x</p></body></html>"},
		{"upper case with attributes", `<HTML><BODY class="x"><p>x</p>`, `<HTML><BODY class="x">` + div + "<p>x</p>"},
		{"non-ASCII before body", "<title>İİ</title><body><p>x</p>", "<title>İİ</title><body>" + div + "<p>x</p>"},
		{"no body", "<p>x</p>", div + "<p>x</p>"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, insertPreheader(tc.html, `a & <b> "c'`), tc.name)
	}
}
