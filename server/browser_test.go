package server

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium (Debian's chromium) for one test. The
// test is skipped only when Chromium is absent outside CI; in CI (env CI
// set) a missing browser fails the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, lerr := exec.LookPath("chromium"); lerr == nil {
			path = p
		} else if os.Getenv("CI") == "" {
			t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser test outside CI")
		} else {
			t.Fatalf("CI is set but chromium is not installed at %s: %v", chromiumPath, err)
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(bctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

// TestBrowserWithdrawEmailMarketing opens a preference link in headless
// Chromium, withdraws email marketing with the keyboard-and-mouse controls
// a person uses, and checks that the person is no longer granted and that
// the next journey tick sends them nothing (while it still sends to
// someone who did not withdraw).
func TestBrowserWithdrawEmailMarketing(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	e.publish(welcomePro)
	ada := e.person(map[string]any{"user_id": "ada", "email": "ada@example.com", "plan": "pro", "locale": "th-TH"}, "marketing/email", "marketing/sms")
	bob := e.person(map[string]any{"user_id": "bob", "email": "bob@example.com", "plan": "pro"}, "marketing/email")
	link := e.link("preferences", ada, "marketing", "email")

	boolOf := func(js string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		require.NoError(t, err)
		return v
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(link+"&lang=en"),
		chromedp.WaitVisible(chromedp.ID("c-marketing-email-no")),
	))
	before := boolOf(`document.getElementById("c-marketing-email-yes").checked`)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`label[for="c-marketing-email-no"]`)),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	))
	notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice")))
	require.NoError(t, err)
	after := boolOf(`document.getElementById("c-marketing-email-no").checked`)
	lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	require.NoError(t, err)
	require.True(t, before, "email marketing was shown as granted")
	require.True(t, after, "email marketing is shown as withdrawn after saving")
	require.Equal(t, "Your choices are saved.", strings.TrimSpace(notice))
	require.Equal(t, "en", lang)

	require.False(t, e.granted(ada, "marketing", "email"))
	require.True(t, e.granted(ada, "marketing", "sms"), "the other channel is untouched")
	require.True(t, e.granted(bob, "marketing", "email"))

	// The next journey tick sends Ada nothing, and still sends to Bob.
	_, err = e.runner.ProfilesChanged(e.ctx, []int64{ada, bob})
	require.NoError(t, err)
	e.tick()
	require.Equal(t, 0, e.email.sentTo(ada))
	require.Equal(t, 1, e.email.sentTo(bob))

	// The Thai page (the link without lang: Ada's locale trait is th-TH)
	// works the same way, by keyboard: focus the "yes" radio and press
	// space, then submit with Enter on the button.
	e.clk.Advance(time.Minute)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("c-marketing-email-yes")),
		chromedp.Focus(chromedp.ID("c-marketing-email-yes")),
		chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.ID("save")),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	))
	thNotice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice")))
	require.NoError(t, err)
	require.Equal(t, "บันทึกตัวเลือกของคุณแล้ว", strings.TrimSpace(thNotice))
	require.True(t, e.granted(ada, "marketing", "email"), "granting took as few steps as withdrawing")
}
