package templates

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/require"
)

var oneLineCases = []string{ //nolint:gochecknoglobals // read-only test table
	"", " ", "a", "a b", " a", "a ", "a  b", "a\nb", "a\tb", "a\u00a0b", "a\u2003b", "a\u0085b",
	"ยินดีต้อนรับ คุณสมชาย!", "\xff \xfe", "a \n b", "\r\n",
}

func TestOneLineMatchesFields(t *testing.T) {
	t.Parallel()
	for _, s := range oneLineCases {
		require.Equal(t, strings.Join(strings.Fields(s), " "), oneLine(s), "%q", s)
	}
}

func FuzzOneLine(f *testing.F) {
	for _, s := range oneLineCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		require.Equal(t, strings.Join(strings.Fields(s), " "), oneLine(s), "%q", s)
	})
}

// TestConstantText: a part is taken as constant only when executing it
// could give nothing else.
func TestConstantText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src      string
		constant bool
	}{
		{"10% off your first cup · รับส่วนลด", true},
		{"a{{/* a comment */}}b", true},
		{"a {{- /* trimmed */ -}} b", true},
		{"Hi {{ .traits.first_name }}", false},
		{`{{ "literal" }}`, false},
		{`{{ define "x" }}x{{ end }}text`, false},
	}
	for _, tc := range tests {
		tt, err := template.New("p").Funcs(funcMap(time.UTC)).Parse(tc.src)
		require.NoError(t, err, tc.src)
		got, ok := constantText(tt)
		require.Equal(t, tc.constant, ok, tc.src)
		if ok {
			want, err := execText(tt, map[string]any{})
			require.NoError(t, err)
			require.Equal(t, want, got, tc.src)
		}
	}
}

// TestRenderBackToBack: renderings of different people, one after the
// other and concurrently (run with -race), each equal their own rendering
// by a freshly loaded template (no buffer size or constant part carries
// one person's content into another's message).
func TestRenderBackToBack(t *testing.T) {
	t.Parallel()
	people := []Data{
		{ProfileID: 1, Traits: map[string]any{"first_name": "สมชาย", "signup_at": "2025-02-28"}, Timezone: "Asia/Bangkok",
			UnsubscribeURL: "https://x.example/u?token=ONE", PreferencesURL: "https://x.example/p?token=ONE"},
		{ProfileID: 2, Traits: map[string]any{"first_name": "Ann-Kathrin Longname-Doublebarrel", "loyalty_tier": "gold"},
			UnsubscribeURL: "https://x.example/u?token=TWO-LONGER-TOKEN", PreferencesURL: "https://x.example/p?token=TWO"},
		{ProfileID: 3, Traits: map[string]any{}, Timezone: "Asia/Bangkok",
			UnsubscribeURL: "https://x.example/u?token=3", PreferencesURL: "https://x.example/p?token=3"},
	}
	for i := range people {
		people[i].Now = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
		people[i].AllowMissing = true
	}
	want := make([]*Rendered, len(people))
	for i, d := range people {
		fresh := loadSamples(t)
		r, err := fresh.Render("welcome", ChannelEmail, d)
		require.NoError(t, err)
		want[i] = r
	}
	shared := loadSamples(t)
	for range 3 {
		for i, d := range people {
			r, err := shared.Render("welcome", ChannelEmail, d)
			require.NoError(t, err)
			require.Equal(t, want[i], r, "person %d", i)
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 50 {
				i := (g + n) % len(people)
				r, err := shared.Render("welcome", ChannelEmail, people[i])
				if !assertEqual(t, want[i], r, err) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// assertEqual reports a mismatch from a goroutine (require may not stop
// the test outside its own goroutine).
func assertEqual(t *testing.T, want, got *Rendered, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("rendering differs:\nwant %+v\ngot  %+v", *want, *got)
		return false
	}
	return true
}
