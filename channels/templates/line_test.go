package templates

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func lineFS(body string) fstest.MapFS {
	return fstest.MapFS{"promo.line.json": {Data: []byte("---\npurpose: marketing\n---\n" + body)}}
}

func TestLINETemplateLoadErrorsNameFileAndPosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want error
		msgs []string
	}{
		{"broken JSON", "[\n  {\"type\": \"text\", \"text\": \"hi\"\n]", ErrLINEMessage,
			[]string{"promo.line.json", "line 5", "invalid JSON"}},
		{"not an array", `{"type": "text", "text": "hi"}`, ErrLINEMessage, []string{"line 4", "JSON array"}},
		{"unknown type", "[\n  {\"type\": \"text\", \"text\": \"a\"},\n  {\"type\": \"video\"}\n]", ErrLINEMessage,
			[]string{"promo.line.json", "line 6, column 3 (/1/type)", `unsupported message type "video"`}},
		{"flex without alt text", "[{\"type\": \"flex\", \"contents\": {\"type\": \"bubble\"}}]", ErrLINEMessage,
			[]string{"line 4, column 2 (/0/altText)", "altText"}},
		{"flex contents not a bubble", `[{"type": "flex", "altText": "a", "contents": {"type": "box"}}]`, ErrLINEMessage,
			[]string{"(/0/contents/type)", "bubble or a carousel"}},
		{"text too long", `[{"type": "text", "text": "` + strings.Repeat("ก", LINEMaxText+1) + `"}]`, ErrLINEMessage,
			[]string{"(/0/text)", "5001 characters", "at most 5000"}},
		{"six messages", "[" + strings.Repeat(`{"type": "text", "text": "a"},`, 5) + `{"type": "text", "text": "a"}]`, ErrLINEMessage,
			[]string{"6 messages", "at most 5"}},
		{"empty array", "[]", ErrLINEMessage, []string{"at least one message"}},
		{"image over http", `[{"type": "image", "originalContentUrl": "http://x/a.jpg", "previewImageUrl": "https://x/p.jpg"}]`,
			ErrLINEMessage, []string{"(/0/originalContentUrl)", "https"}},
		{"email front matter", "", ErrFrontMatter, []string{"only purpose and description"}},
		{"template syntax", `[{"type": "text", "text": "{{ .traits.x "}]`, ErrSyntax, []string{"promo.line.json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := lineFS(tc.body)
			if errors.Is(tc.want, ErrFrontMatter) {
				fs = fstest.MapFS{"promo.line.json": {Data: []byte("---\npurpose: marketing\nsubject: x\n---\n[]")}}
			}
			_, err := LoadFS(fs)
			require.ErrorIs(t, err, tc.want)
			for _, m := range tc.msgs {
				require.Contains(t, err.Error(), m)
			}
		})
	}
	_, err := LoadFS(fstest.MapFS{"promo.line.txt": {Data: []byte("---\npurpose: marketing\n---\n[]")}})
	require.ErrorIs(t, err, ErrSyntax, "a line template must be .json")
}

// Positions are those of the source, also to the right of a placeholder
// whose output is longer or shorter than its source, and inside a range.
func TestLINEErrorPositionsAreSourcePositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want string
	}{
		{"after a placeholder", `[{"type": "text", "text": "Hi {{ .traits.first_name | default "ลูกค้าผู้มีเกียรติ" }} ไทย"}, {"type": "video"}]`,
			"line 4, column 94 (/1/type)"},
		{"after a conditional", "[\n{{ if .traits.vip }}{\"type\": \"text\", \"text\": \"VIP\"},{{ end }}\n  {\"type\": \"flex\", \"contents\": {\"type\": \"bubble\"}}\n]",
			"line 6, column 3 (/0/altText)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadFS(lineFS(tc.body))
			require.ErrorIs(t, err, ErrLINEMessage)
			require.Contains(t, err.Error(), "promo.line.json")
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLINERenderEscapesValues(t *testing.T) {
	t.Parallel()
	s := loadSamples(t)
	// A trait holding quotes, a backslash and a newline stays inside its
	// JSON string.
	r, err := s.Render("line_winback", ChannelLine, Data{
		Traits:  map[string]any{"first_name": "สม\"ชาย\\\n<b>"},
		Payload: map[string]any{"discount_code": "BACK30"},
	})
	require.NoError(t, err)
	var msgs []map[string]any
	require.NoError(t, json.Unmarshal(r.Messages, &msgs))
	require.Len(t, msgs, 1)
	require.Equal(t, "text", msgs[0]["type"])
	require.Equal(t, "คุณสม\"ชาย\\\n<b> เราคิดถึงคุณ! ใช้โค้ด BACK30 รับส่วนลด 30% ที่สาขาใกล้คุณ", msgs[0]["text"])
	require.NotContains(t, string(r.Messages), "\n  ", "compacted")

	w, err := s.Render("line_welcome", ChannelLine, Data{})
	require.NoError(t, err)
	require.Contains(t, string(w.Messages), `"text":"สวัสดีคุณลูกค้า"`)
	require.Contains(t, string(w.Messages), `"altText":"ยินดีต้อนรับสู่ Tact Coffee`)

	_, err = s.Render("line_welcome", ChannelSMS, Data{})
	require.ErrorIs(t, err, ErrChannel)
}

func TestLINERenderChecksLimitsWithRealData(t *testing.T) {
	t.Parallel()
	set, err := LoadFS(lineFS(`[{"type": "text", "text": "{{ .payload.note }}"}, {"type": "flex", "altText": "{{ .payload.alt }}", "contents": {"type": "bubble"}}]`))
	require.NoError(t, err, "placeholder-only fields are accepted at load")
	tests := []struct {
		name    string
		payload map[string]any
		msg     string
	}{
		{"empty text", map[string]any{"alt": "a"}, "(/0/text)"},
		{"empty alt text", map[string]any{"note": "n"}, "(/1/altText)"},
		{"text over the limit", map[string]any{"note": strings.Repeat("😀", LINEMaxText/2+1), "alt": "a"}, "5002 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := set.Render("promo", ChannelLine, Data{Payload: tc.payload})
			if len(tc.payload) < 2 {
				require.ErrorIs(t, err, ErrRender, "a field without a value refuses first")
				// A preview renders the blank, and LINE's own limit names it.
				_, err = set.Render("promo", ChannelLine, Data{Payload: tc.payload, AllowMissing: true})
			}
			require.ErrorIs(t, err, ErrLINEMessage)
			require.Contains(t, err.Error(), tc.msg)
		})
	}
	r, err := set.Render("promo", ChannelLine, Data{Payload: map[string]any{"note": "n", "alt": "a"}})
	require.NoError(t, err)
	require.JSONEq(t, `[{"type":"text","text":"n"},{"type":"flex","altText":"a","contents":{"type":"bubble"}}]`, string(r.Messages))
}
