package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// SignatureHeader is the header Twilio signs webhooks with.
const SignatureHeader = "X-Twilio-Signature"

// Signature computes Twilio's request signature: base64 of HMAC-SHA1, keyed
// with the auth token, over the full URL followed by every POST parameter
// name and value, sorted by name (values of a repeated name in the order
// sent).
func Signature(authToken, fullURL string, params url.Values) string {
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(fullURL))
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range params[k] {
			m.Write([]byte(k))
			m.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ValidSignature reports whether signature matches (constant time). Twilio
// may sign the URL with or without an explicit port; both are tried.
func ValidSignature(authToken, fullURL string, params url.Values, signature string) bool {
	if signature == "" {
		return false
	}
	got := []byte(signature)
	for _, u := range urlVariants(fullURL) {
		if hmac.Equal(got, []byte(Signature(authToken, u, params))) {
			return true
		}
	}
	return false
}

func urlVariants(raw string) []string {
	out := []string{raw}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err == nil {
		if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
			v := *u
			v.Host = host
			out = append(out, v.String())
		}
		return out
	}
	v := *u
	if u.Scheme == "https" {
		v.Host = u.Host + ":443"
	} else {
		v.Host = u.Host + ":80"
	}
	return append(out, v.String())
}

// ErrBadSignature means the webhook is not signed by the provider.
var ErrBadSignature = errors.New("sms: invalid or missing X-Twilio-Signature")

// VerifyRequest parses r's form and checks its X-Twilio-Signature. publicURL
// is the full URL Twilio called, query included (behind a proxy r.URL is
// not it); "" reconstructs it from r (Host, TLS, RequestURI).
func VerifyRequest(r *http.Request, authToken, publicURL string) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	if publicURL == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		publicURL = scheme + "://" + r.Host + r.URL.RequestURI()
	} else if r.URL.RawQuery != "" && !strings.Contains(publicURL, "?") {
		publicURL += "?" + r.URL.RawQuery
	}
	if !ValidSignature(authToken, publicURL, r.PostForm, r.Header.Get(SignatureHeader)) {
		return ErrBadSignature
	}
	return nil
}
