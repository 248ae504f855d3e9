package server

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/sample"
	"github.com/tactcdp/tact/segments"
)

// sampleEnv is a console test server over the committed sample
// (testdata/sample) at the sample's reference time, with the welcome
// series published and run for a few days and a saved segment recomputed.
func sampleEnv(t *testing.T) *env {
	t.Helper()
	e := consoleEnv(t)
	e.clk.Set(sample.DefaultNow())
	m, err := sample.Write(t.TempDir(), sample.Options{})
	require.NoError(t, err)
	for _, f := range m.Files {
		_, err := e.store.Import(e.ctx, engine.ImportKind(f.Kind), filepath.Join("..", "testdata", "sample", f.Name))
		require.NoError(t, err, f.Name)
	}
	src, err := os.ReadFile("../testdata/journeys/welcome_series.yaml")
	require.NoError(t, err)
	e.publish(string(src))
	_, err = segments.Save(e.ctx, e.store, "thai-pros", `country == "TH" and plan == "pro"`)
	require.NoError(t, err)
	for day := 0; day < 4; day++ {
		e.tick()
		e.clk.Advance(26 * time.Hour)
		_, err = segments.Refresh(e.ctx, e.store, "thai-pros")
		require.NoError(t, err)
	}
	e.tick()
	return e
}

// TestConsoleScreenshots writes the screenshots of docs/console.md (the
// segment editor, a journey graph and a profile page, in English and
// Thai, 1280 px wide). It runs only with TACT_CONSOLE_SCREENSHOTS set to
// the output directory (docs/screenshots).
func TestConsoleScreenshots(t *testing.T) {
	dir := os.Getenv("TACT_CONSOLE_SCREENSHOTS")
	if dir == "" {
		t.Skip("set TACT_CONSOLE_SCREENSHOTS=../docs/screenshots to write the console screenshots")
	}
	ctx := browser(t)
	e := sampleEnv(t)
	// A person who went through the welcome series, so the profile shows
	// journeys and messages with their outcomes.
	var id int64
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT o.profile_id FROM journey_outbox o
JOIN profiles p ON p.id = o.profile_id WHERE p.user_id IS NOT NULL ORDER BY o.profile_id LIMIT 1`).Scan(&id))
	consoleSignIn(t, ctx, e, tokAdmin)
	expr := `country == "TH" and ltv > 5000 and count(events, .event == "purchase") >= 1`
	pages := []struct{ name, path, wait string }{
		{"segment-editor", "/console/segments?sample=1&purpose=marketing&channel=email&expr=" + urlQueryEscape(expr), "#bar svg"},
		{"journey-graph", "/console/journeys/welcome-series", "svg.graph"},
		{"profile", "/console/people/" + itoa(id), "#email"},
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)))
	for _, lang := range []string{"en", "th"} {
		for _, p := range pages {
			sep := "?"
			if containsRune(p.path, '?') {
				sep = "&"
			}
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(e.ts.URL+p.path+sep+"lang="+lang),
				chromedp.WaitVisible(chromedp.CSS(p.wait)),
			))
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, p.name+"-"+lang+".png"), png, 0o644))
		}
	}
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func containsRune(s string, r rune) bool { return strings.ContainsRune(s, r) }
