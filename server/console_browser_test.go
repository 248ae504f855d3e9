package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// consoleSignIn signs in through the browser's sign-in form.
func consoleSignIn(t *testing.T, ctx context.Context, e *env, token string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.ts.URL+"/console/?lang=en"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("signout")),
	))
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err)
	return strings.TrimSpace(s)
}

// publishInBrowser posts yaml from the publish page and waits for sel.
func publishInBrowser(t *testing.T, ctx context.Context, e *env, yaml, sel string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.ts.URL+"/console/journeys/new"),
		chromedp.WaitVisible(chromedp.ID("yaml")),
		chromedp.SetValue(chromedp.ID("yaml"), yaml),
		chromedp.Click(chromedp.ID("publish")),
		chromedp.WaitVisible(chromedp.CSS(sel)),
	))
}

// waitText polls until the element's text differs from before.
func waitText(t *testing.T, ctx context.Context, sel, before string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s := textOf(t, ctx, sel); s != before {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s still reads %q", sel, before)
	return ""
}

// TestBrowserConsoleMarketer drives the console in headless Chromium: a
// marketer signs in, types a segment and sees the count change, saves it,
// publishes a journey (after seeing a validation error), previews a
// message for a person and signs out; then a read user cannot publish or
// see contact details, a marketer cannot publish a transactional journey,
// and a form posted without its CSRF token is refused.
func TestBrowserConsoleMarketer(t *testing.T) {
	ctx := browser(t)
	e := consoleEnv(t)
	e.person(map[string]any{"user_id": "ada", "email": "ada@example.com", "plan": "pro", "country": "TH", "first_name": "Ada"}, "marketing/email")
	e.person(map[string]any{"user_id": "bob", "email": "bob@example.com", "plan": "pro", "country": "SG"}, "marketing/email")
	e.person(map[string]any{"user_id": "cy", "email": "cy@example.com", "plan": "free", "country": "TH"}, "marketing/email")

	consoleSignIn(t, ctx, e, tokMarketer)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("expr"))))
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("expr"), `plan == "pro"`)))
	first := waitText(t, ctx, "#count", "—")
	require.Equal(t, "2", first)
	require.Equal(t, "sql", textOf(t, ctx, "#path"))
	// A syntax error is shown with its position as you type.
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("expr"), ` and`)))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("expr-error"))))
	require.Contains(t, textOf(t, ctx, "#expr-error"), "Line 1, column")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("expr"), ` country == "TH"`)))
	second := waitText(t, ctx, "#count", "—")
	require.Equal(t, "1", second, "the count changed as the expression grew")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("seg-name"), "thai-pros"),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	))
	require.Equal(t, "Saved.", textOf(t, ctx, ".notice"))
	require.Equal(t, "thai-pros", textOf(t, ctx, "h1"))

	// Publish: a validation error first, at its line, then success.
	bad := strings.Replace(welcomePro, "channel: email", "channel: pigeon", 1)
	publishInBrowser(t, ctx, e, bad, "#problems")
	require.Contains(t, textOf(t, ctx, "#problems"), "line 8")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("yaml"), welcomePro),
		chromedp.Click(chromedp.ID("publish")),
		chromedp.WaitVisible(chromedp.CSS("svg.graph")),
	))
	require.Equal(t, "welcome-pro", textOf(t, ctx, "h1"))

	// Preview for a person.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.ts.URL+"/console/preview"),
		chromedp.WaitVisible(chromedp.ID("person")),
		chromedp.SetValue(chromedp.ID("template"), "welcome"),
		chromedp.SendKeys(chromedp.ID("person"), "ada"),
		chromedp.Click(chromedp.ID("preview-btn")),
		chromedp.WaitVisible(chromedp.ID("html-frame")),
	))
	require.Contains(t, textOf(t, ctx, "#headers"), "List-Unsubscribe")
	require.Contains(t, textOf(t, ctx, "#text-part"), "Ada")
	require.Equal(t, "eligible", textOf(t, ctx, "#eligibility"))

	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("token"))))
	require.Equal(t, "You are signed out.", textOf(t, ctx, ".notice"))

	// A read user: no publishing, no contact details.
	consoleSignIn(t, ctx, e, tokRead)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.ts.URL+"/console/journeys/new"),
		chromedp.WaitVisible(chromedp.ID("page-error")),
	))
	require.Contains(t, textOf(t, ctx, "#page-error"), "does not allow")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.ts.URL+"/console/people"),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "ada"),
		chromedp.Click(chromedp.ID("search")),
		chromedp.WaitVisible(chromedp.ID("email")),
	))
	require.Equal(t, "a•••@example.com", textOf(t, ctx, "#email"))
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.NotContains(t, html, "ada@example.com")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("token"))))

	// A marketer cannot publish a transactional journey.
	consoleSignIn(t, ctx, e, tokMarketer)
	publishInBrowser(t, ctx, e, txReceipt, "#page-error")
	require.Contains(t, textOf(t, ctx, "#page-error"), "only be published by an admin")
	_, err = e.runner.Get(e.ctx, "tx-receipt")
	require.Error(t, err, "nothing was published")

	// A form without its CSRF token is refused.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.ts.URL+"/console/segments?expr=true"),
		chromedp.WaitVisible(chromedp.ID("save")),
	))
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#save-form input[name="csrf"]').remove() === undefined`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("seg-name"), "forged"),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.ID("page-error")),
	))
	require.Contains(t, textOf(t, ctx, "#page-error"), "did not come from the console")
	list, err := e.srv.segments.List(e.ctx)
	require.NoError(t, err)
	require.NotContains(t, toJSONString(t, list), `"forged"`)
}

func toJSONString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
