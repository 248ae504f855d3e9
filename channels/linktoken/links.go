package linktoken

import (
	"errors"
	"net/url"
	"strings"
)

// Default paths of the server's link handlers.
const (
	DefaultUnsubscribePath = "/unsubscribe"
	DefaultPreferencesPath = "/preferences"
	// QueryParam is the query parameter carrying the token.
	QueryParam = "token"
)

// Links builds the HTTPS links that carry tokens. The server's one-click
// handler reads the token from the QueryParam of a POST to UnsubscribePath
// (RFC 8058: body "List-Unsubscribe=One-Click"); a GET of the same URL shows
// a confirmation page and changes nothing.
type Links struct {
	// BaseURL is the public HTTPS origin (and optional path prefix) of the
	// Tact server, e.g. "https://prefs.example.com". Required.
	BaseURL string
	// UnsubscribePath defaults to DefaultUnsubscribePath.
	UnsubscribePath string
	// PreferencesPath defaults to DefaultPreferencesPath.
	PreferencesPath string
	// Signer issues the tokens. Required.
	Signer *Signer
	// Lang, when set, is added as LangParam so the page opens in the
	// person's language before any lookup (see ForPerson).
	Lang string
}

// ErrNoLinks means Links has no BaseURL or Signer.
var ErrNoLinks = errors.New("linktoken: links are not configured (base URL and key required)")

// Unsubscribe returns the one-click unsubscribe URL and its token.
func (l Links) Unsubscribe(profileID int64, purpose, channel string) (link, token string, err error) {
	return l.build(l.UnsubscribePath, DefaultUnsubscribePath, profileID, purpose, channel)
}

// Preferences returns the preference-centre URL and its token.
func (l Links) Preferences(profileID int64, purpose, channel string) (link, token string, err error) {
	return l.build(l.PreferencesPath, DefaultPreferencesPath, profileID, purpose, channel)
}

func (l Links) build(path, def string, profileID int64, purpose, channel string) (string, string, error) {
	if l.Signer == nil || l.BaseURL == "" {
		return "", "", ErrNoLinks
	}
	if path == "" {
		path = def
	}
	tok, err := l.Signer.Issue(profileID, purpose, channel)
	if err != nil {
		return "", "", err
	}
	u, err := url.Parse(strings.TrimRight(l.BaseURL, "/") + path)
	if err != nil {
		return "", "", err
	}
	q := url.Values{QueryParam: {tok}}
	if lang := Language(l.Lang); lang != "" {
		q.Set(LangParam, lang)
	}
	u.RawQuery = q.Encode()
	return u.String(), tok, nil
}

// CheckBaseURL reports whether base is usable for List-Unsubscribe (RFC 8058
// requires an HTTPS URI; http is allowed only for loopback hosts in tests).
func CheckBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return errors.New("must be an absolute URL")
	}
	if u.Scheme == "https" {
		return nil
	}
	h := u.Hostname()
	if u.Scheme == "http" && (h == "localhost" || h == "127.0.0.1" || h == "::1") {
		return nil
	}
	return errors.New("must use https")
}
