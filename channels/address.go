package channels

import (
	"encoding/json"
	"net/mail"
	"strings"
)

// NormalizeEmail trims and lower-cases an email address and checks its
// syntax (a bare addr-spec, no display name).
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", ErrNoAddress
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", ErrInvalidAddress
	}
	return s, nil
}

// IsE164 reports whether s is an E.164 number: "+", a non-zero digit, then
// 7 to 14 more digits.
func IsE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NormalizeE164 removes spaces, dashes, dots and parentheses from a number
// written in international form and checks the result is E.164.
func NormalizeE164(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrNoAddress
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", ErrInvalidAddress
		}
	}
	out := b.String()
	if strings.HasPrefix(out, "00") {
		out = "+" + out[2:]
	}
	if !IsE164(out) {
		return "", ErrInvalidAddress
	}
	return out, nil
}

// PushTokenKey returns the identifier of a push target as stored on the
// profile: the endpoint URL of a Web Push subscription (a JSON object with
// "endpoint" and "keys"), or the FCM registration token itself.
func PushTokenKey(to string) string {
	t := strings.TrimSpace(to)
	if strings.HasPrefix(t, "{") {
		var sub struct {
			Endpoint string `json:"endpoint"`
		}
		if json.Unmarshal([]byte(t), &sub) == nil && sub.Endpoint != "" {
			return sub.Endpoint
		}
	}
	return t
}
