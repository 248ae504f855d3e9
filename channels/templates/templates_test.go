package templates

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
)

var sampleFields = Fields{
	Traits:  []string{"first_name", "signup_at", "loyalty_tier", "last_order_at", "ltv", "email", "phone"},
	Payload: []string{"discount_code", "order_id", "items", "total", "currency", "ordered_at", "cart_url", "item_count"},
}

func loadSamples(t *testing.T) *Set {
	t.Helper()
	s, err := Load(filepath.Join("..", "..", "testdata", "templates"))
	require.NoError(t, err)
	return s
}

func TestLoadSamples(t *testing.T) {
	t.Parallel()
	s := loadSamples(t)
	require.Equal(t, []string{"cart_reminder", "flash_sale", "line_welcome", "line_winback", "receipt", "welcome", "winback"}, s.Names())
	require.NoError(t, s.Validate(sampleFields))
	w, err := s.Lookup("winback")
	require.NoError(t, err)
	tr, pl := w.References()
	require.Equal(t, []string{"first_name", "last_order_at", "ltv"}, tr)
	require.Equal(t, []string{"discount_code"}, pl)
	r, err := s.Lookup("receipt")
	require.NoError(t, err)
	require.False(t, r.Marketing())
	_, err = s.Lookup("nope")
	require.ErrorIs(t, err, ErrUnknownTemplate)
}

func TestValidateMissingFields(t *testing.T) {
	t.Parallel()
	s := loadSamples(t)
	err := s.Validate(Fields{Traits: []string{"first_name"}, Payload: []string{"order_id"}})
	require.ErrorIs(t, err, ErrMissingField)
	msg := err.Error()
	for _, want := range []string{".traits.signup_at: no such trait", ".payload.discount_code: the journey's payload has no such key", "welcome.email.html"} {
		require.Contains(t, msg, want)
	}
	// $-rooted reference inside range is checked too.
	require.Contains(t, msg, "receipt.email.html: reference to unknown field: .payload.currency")
	// .name inside range is relative to the item: not reported.
	require.NotContains(t, msg, ".name")
}

func fm(body string) string { return "---\npurpose: marketing\nsubject: Hi\n---\n" + body }

func TestStructuralErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files fstest.MapFS
		want  error
		msg   string
	}{
		{"marketing email without unsubscribe", fstest.MapFS{"a.email.html": {Data: []byte(fm(`<a href="https://x">x</a>`))}}, ErrNoUnsubscribeLink, "a.email.html"},
		{"unsubscribe url outside href", fstest.MapFS{"a.email.html": {Data: []byte(fm(`copy {{ .unsubscribe_url }}`))}}, ErrNoUnsubscribeLink, ""},
		{"text part without unsubscribe", fstest.MapFS{
			"a.email.html": {Data: []byte(fm(`<a href="{{ .unsubscribe_url }}">u</a>`))},
			"a.email.txt":  {Data: []byte("hello")}}, ErrNoUnsubscribeLink, "a.email.txt"},
		{"unknown channel", fstest.MapFS{"a.fax.txt": {Data: []byte(fm("x"))}}, ErrChannel, "fax"},
		{"html for sms", fstest.MapFS{"a.sms.html": {Data: []byte(fm("x"))}}, ErrSyntax, ".html"},
		{"no front matter", fstest.MapFS{"a.sms.txt": {Data: []byte("hello")}}, ErrFrontMatter, ""},
		{"unknown front matter key", fstest.MapFS{"a.sms.txt": {Data: []byte("---\npurpose: marketing\nsubjekt: x\n---\nhi")}}, ErrFrontMatter, "subjekt"},
		{"missing purpose", fstest.MapFS{"a.sms.txt": {Data: []byte("---\ndescription: x\n---\nhi")}}, ErrFrontMatter, "purpose"},
		{"email needs subject", fstest.MapFS{"a.email.html": {Data: []byte("---\npurpose: transactional\n---\nhi")}}, ErrFrontMatter, "subject"},
		{"push needs title", fstest.MapFS{"a.push.txt": {Data: []byte("---\npurpose: marketing\n---\nhi")}}, ErrFrontMatter, "title"},
		{"syntax error", fstest.MapFS{"a.sms.txt": {Data: []byte("---\npurpose: marketing\n---\n{{ .traits.x ")}}, ErrSyntax, ""},
		{"bad name", fstest.MapFS{"A b.sms.txt": {Data: []byte("---\npurpose: marketing\n---\nhi")}}, ErrSyntax, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadFS(tc.files)
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), tc.msg)
			var te *Error
			require.True(t, errors.As(err, &te))
		})
	}
	// Transactional email needs no unsubscribe link; README and dotfiles are ignored.
	s, err := LoadFS(fstest.MapFS{
		"r.email.html": {Data: []byte("---\npurpose: transactional\nsubject: Receipt\n---\n<p>ok</p>")},
		"README.md":    {Data: []byte("# x")},
		".x.sms.txt":   {Data: []byte("junk")},
	})
	require.NoError(t, err)
	require.Equal(t, []string{"r"}, s.Names())
}

func TestRenderWelcomeThai(t *testing.T) {
	t.Parallel()
	s := loadSamples(t)
	signup := time.Date(2025, 1, 31, 20, 0, 0, 0, time.UTC) // 1 Feb 03:00 in Bangkok
	r, err := s.Render("welcome", ChannelEmail, Data{
		ProfileID:      7,
		Traits:         map[string]any{"first_name": `สมชาย<script>`, "signup_at": signup},
		Timezone:       "Asia/Bangkok",
		Now:            signup,
		UnsubscribeURL: "https://prefs.example.com/unsubscribe?token=AbC_-1",
		PreferencesURL: "https://prefs.example.com/preferences?token=AbC_-1",
	})
	require.NoError(t, err)
	require.Equal(t, "ยินดีต้อนรับสู่ Tact Coffee, สมชาย<script>!", r.Subject)
	require.Equal(t, "marketing", r.Purpose)
	require.Contains(t, r.HTML, "คุณสมชาย&lt;script&gt; 👋")
	require.Contains(t, r.HTML, "1 Feb 2025")
	require.Contains(t, r.HTML, "<strong>GREEN</strong>")
	require.Contains(t, r.HTML, `href="https://prefs.example.com/unsubscribe?token=AbC_-1"`)
	require.Contains(t, r.Text, "ยกเลิกการรับอีเมล / Unsubscribe (https://prefs.example.com/unsubscribe?token=AbC_-1)")
	require.Contains(t, r.Text, "สวัสดีค่ะ คุณสมชาย<script> 👋")
	require.NotContains(t, r.Text, "font-family")
}

func TestRenderMissingValuesAndDefaults(t *testing.T) {
	t.Parallel()
	s := loadSamples(t)
	r, err := s.Render("flash_sale", ChannelSMS, Data{Traits: map[string]any{"first_name": nil}})
	require.NoError(t, err)
	require.Equal(t, "Tact Coffee: คุณลูกค้า ลด 30% วันนี้เท่านั้น! ใช้โค้ด FLASH30 ที่สาขาใกล้คุณ ตอบ STOP เพื่อยกเลิก", r.Text)
	require.NotContains(t, r.Text, "no value")

	r, err = s.Render("cart_reminder", ChannelPush, Data{
		Traits:  map[string]any{"first_name": "Nok"},
		Payload: map[string]any{"cart_url": "https://coffee.example.com/cart/9", "item_count": 3},
	})
	require.NoError(t, err)
	require.Equal(t, "Nok, your cart is waiting ☕", r.Title)
	require.Equal(t, "https://coffee.example.com/cart/9", r.URL)
	require.Equal(t, "คุณมีสินค้า 3 รายการในตะกร้า — สั่งเลยก่อนหมด!", r.Text)

	_, err = s.Render("cart_reminder", ChannelSMS, Data{})
	require.ErrorIs(t, err, ErrChannel)
	// A marketing email cannot render without an unsubscribe URL.
	_, err = s.Render("welcome", ChannelEmail, Data{})
	require.ErrorIs(t, err, ErrNoUnsubscribeLink)
}

func TestRenderReceipt(t *testing.T) {
	t.Parallel()
	s := loadSamples(t)
	r, err := s.Render("receipt", ChannelEmail, Data{
		Traits:   map[string]any{"first_name": "Anan"},
		Timezone: "Asia/Bangkok",
		Payload: map[string]any{
			"order_id": "A-1001", "currency": "THB", "total": 1290.5, "ordered_at": "2025-03-01T05:30:00Z",
			"items": []any{map[string]any{"name": "Latte", "qty": 2, "price": 120}, map[string]any{"name": "Beans 1kg", "qty": 1, "price": 1050.5}},
		},
	})
	require.NoError(t, err)
	require.Equal(t, "ใบเสร็จคำสั่งซื้อ #A-1001 / Your receipt", r.Subject)
	require.Contains(t, r.HTML, "฿1,050.50")
	require.Contains(t, r.HTML, "<strong>฿1,290.50</strong>")
	require.Contains(t, r.HTML, "1 Mar 2025 12:30")
	require.Contains(t, r.Text, "Latte × 2 ฿120.00")
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want string
	}{
		{`{{ number 1234567 }}`, "1,234,567"},
		{`{{ number .traits.f }}`, "-1,234.57"},
		{`{{ number .traits.missing }}`, ""},
		{`{{ decimal 0 2.5 }}`, "2"},
		{`{{ decimal 3 "1000" }}`, "1,000.000"},
		{`{{ currency "jpy" 1500 }}`, "¥1,500"},
		{`{{ currency "XYZ" 3 }}`, "XYZ 3.00"},
		{`{{ currency "USD" -3.5 }}`, "-$3.50"},
		{`{{ date "2006-01-02 15:04 MST" .traits.t }}`, "2025-06-30 19:00 PDT"},
		{`{{ date "date" "2025-06-30" }}`, "30 Jun 2025"},
		{`{{ date "iso" 0 }}`, "1969-12-31T16:00:00-08:00"},
		{`{{ .traits.missing | default "x" }}`, "x"},
		{`{{ "" | default "x" }}`, "x"},
		{`{{ 0 | default "x" }}`, "0"},
		{`{{ truncate 5 "hello world" }}`, "hell…"},
		{`{{ truncate 3 "สวัสดีครับ" }}`, "ส…"},
		{`{{ truncate 4 "สวัสดีครับ" }}`, "สวั…"},
		{`{{ truncate 20 "short" }}`, "short"},
		{`{{ .timezone }}`, "America/Los_Angeles"},
		{`{{ with .traits.f }}{{ . }}{{ end }}`, "-1234.567"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			tpl, err := New("h", ChannelSMS, "h.sms.txt", "---\npurpose: transactional\n---\n"+tc.src, false, "", "")
			require.NoError(t, err)
			r, err := tpl.Render(Data{Timezone: "America/Los_Angeles", Traits: map[string]any{
				"f": -1234.567, "t": time.Date(2025, 7, 1, 2, 0, 0, 0, time.UTC)}})
			if tc.want == "" {
				// empty output is an error for SMS; use the error message
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, r.Text)
		})
	}
}

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	in := `<html><head><title>T</title><style>p{}</style></head><body>
<div style="display:none">preheader</div>
<h1>Title &amp; more</h1><p>Line one<br>line   two</p>
<ul><li>a</li><li>b</li></ul>
<p><a href="https://x.example/?a=1&amp;b=2">Click</a> or <a href="https://y.example">https://y.example</a></p></body></html>`
	want := "Title & more\n\nLine one\nline two\n\n- a\n- b\n\nClick (https://x.example/?a=1&b=2) or https://y.example\n"
	require.Equal(t, want, HTMLToText(in))
	require.False(t, strings.Contains(HTMLToText(in), "preheader"))
}

func TestHTMLToTextEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`<p>a<!-- hidden --> b</p>`, "a b\n"},
		{`<P>Upper <A HREF='https://x.example/?q=1&amp;r=2'>Link</A></P>`, "Upper Link (https://x.example/?q=1&r=2)\n"},
		{`<a href="mailto:hi@example.com">hi@example.com</a>`, "hi@example.com\n"},
		{`<div style="display: none"><div>nested</div>still hidden</div>shown`, "shown\n"},
		{`<img alt="İstanbul > x" src="a.png">after`, "after\n"},
		{`x &lt;b&gt; &#3585; &nbsp; y`, "x <b> ก y\n"},
		{`<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>`, "a b\n\nc\n"},
		{`unclosed <a href="https://x.example">link`, "unclosed link (https://x.example)\n"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, HTMLToText(tc.in), tc.in)
	}
}

// TestMissingFieldsRefuseToRender: a field a template prints with no value
// for the person and no default refuses the rendering, naming the field,
// instead of sending "Use code  for 20% off".
func TestMissingFieldsRefuseToRender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src, want string
		missing   []string
	}{
		{`{{ .traits.missing }}x`, "", []string{"traits.missing"}},
		{`{{ date "date" .traits.missing }}x`, "", []string{"traits.missing"}},
		{`{{ $.payload.none }}x`, "", []string{"payload.none"}},
		{`code {{ .payload.code }}`, "", []string{"payload.code"}},
		{`{{ if .traits.a }}{{ .traits.b }}{{ end }}x`, "", []string{"traits.b"}},
		{`{{ .traits.missing | default "y" }}x`, "yx", nil},
		{`{{ upper (.traits.missing | default "y") }}x`, "Yx", nil},
		{`{{ if .traits.missing }}{{ .traits.missing }}{{ end }}x`, "x", nil},
		{`{{ with .traits.missing }}{{ . }}{{ end }}x`, "x", nil},
		{`{{ range .payload.items }}{{ .name }}{{ end }}x`, "x", nil},
		{`{{ .traits.a }}x`, "1x", nil},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			tpl, err := New("h", ChannelSMS, "h.sms.txt", "---\npurpose: transactional\n---\n"+tc.src, false, "", "")
			require.NoError(t, err)
			d := Data{Traits: map[string]any{"a": 1}, Payload: map[string]any{"code": ""}}
			missing, err := tpl.Missing(d)
			require.NoError(t, err)
			require.Equal(t, tc.missing, missing)
			r, err := tpl.Render(d)
			if tc.missing != nil {
				require.ErrorIs(t, err, ErrRender)
				require.ErrorContains(t, err, tc.missing[0]+" has no value")
				d.AllowMissing = true
				_, err = tpl.Render(d)
				require.NoError(t, err, "a preview renders the blanks")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, r.Text)
		})
	}
}

// TestSampleTemplatesNeverSendBlanks: the shipped templates render for a
// person with no traits and no payload (the sample journeys set none)
// without a blank where a value belongs.
func TestSampleTemplatesNeverSendBlanks(t *testing.T) {
	t.Parallel()
	s := loadSamples(t)
	for _, name := range []string{"welcome", "winback"} {
		r, err := s.Render(name, ChannelEmail, Data{UnsubscribeURL: "https://prefs.example.com/u/x"})
		require.NoError(t, err, name)
		require.NotContains(t, r.Text, " .", name)
		require.NotContains(t, r.Text, "code  ", name)
		require.NotContains(t, r.Text, "code=\n", name)
	}
	r, err := s.Render("winback", ChannelEmail, Data{UnsubscribeURL: "https://prefs.example.com/u/x"})
	require.NoError(t, err)
	require.Contains(t, r.Text, "Use code COMEBACK20 for 20% off")
	require.NotContains(t, r.Text, "Your last order was on")
}
