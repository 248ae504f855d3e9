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
	base := strings.TrimRight(l.BaseURL, "/")
	if !plainURL(base, path) {
		return l.buildParsed(base, path, profileID, purpose, channel)
	}
	// A plain URL is what url.Parse and URL.String give back unchanged,
	// and the query is what url.Values.Encode writes (keys sorted, a
	// language and a base64url token needing no escapes): the link is
	// written in one string, the token a part of it.
	var buf [maxTokenLen]byte
	tok, err := l.Signer.appendIssue(buf[:0], profileID, purpose, channel)
	if err != nil {
		return "", "", err
	}
	lang := Language(l.Lang)
	var b strings.Builder
	b.Grow(len(base) + len(path) + len("?lang=&token=") + len(lang) + len(tok))
	b.WriteString(base)
	b.WriteString(path)
	b.WriteByte('?')
	if lang != "" {
		b.WriteString(LangParam + "=")
		b.WriteString(lang)
		b.WriteByte('&')
	}
	b.WriteString(QueryParam + "=")
	start := b.Len()
	b.Write(tok)
	link := b.String()
	return link, link[start:], nil
}

// buildParsed builds the link through net/url, for any base URL and path.
func (l Links) buildParsed(base, path string, profileID int64, purpose, channel string) (string, string, error) {
	tok, err := l.Signer.Issue(profileID, purpose, channel)
	if err != nil {
		return "", "", err
	}
	u, err := url.Parse(base + path)
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

// plainURL reports whether base+path is an http(s) URL with a lower-case
// host name, an optional port and a path of non-empty segments of
// unreserved characters: one that net/url writes back as it reads it.
func plainURL(base, path string) bool {
	n := len(base) + len(path)
	at := func(i int) byte {
		if i < len(base) {
			return base[i]
		}
		return path[i-len(base)]
	}
	i := 0
	switch {
	case strings.HasPrefix(base, "https://"):
		i = len("https://")
	case strings.HasPrefix(base, "http://"):
		i = len("http://")
	default:
		return false
	}
	host := i
	for i < n && (isLowerAlnum(at(i)) || at(i) == '.' || at(i) == '-') {
		i++
	}
	if i == host {
		return false
	}
	if i < n && at(i) == ':' {
		i++
		port := i
		for i < n && at(i) >= '0' && at(i) <= '9' {
			i++
		}
		if i == port {
			return false
		}
	}
	for i < n {
		if at(i) != '/' {
			return false
		}
		i++
		seg := i
		for i < n && (isLowerAlnum(at(i)) || at(i) >= 'A' && at(i) <= 'Z' || at(i) == '-' || at(i) == '.' || at(i) == '_' || at(i) == '~') {
			i++
		}
		if i == seg {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

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
