package linktoken

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 32)
	t0   = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
)

func signerAt(t *testing.T, now time.Time, keys ...[]byte) *Signer {
	t.Helper()
	s, err := New(Config{Keys: keys, Now: func() time.Time { return now }})
	require.NoError(t, err)
	return s
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := signerAt(t, t0, key1)
	tok, err := s.Issue(42, "marketing", "email")
	require.NoError(t, err)
	require.NotContains(t, tok, "marketing")
	c, err := s.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, Claims{ProfileID: 42, Purpose: "marketing", Channel: "email", IssuedAt: t0, ExpiresAt: t0.Add(DefaultTTL)}, c)
	require.GreaterOrEqual(t, c.ExpiresAt.Sub(c.IssuedAt), 60*24*time.Hour)
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	s := signerAt(t, t0, key1)
	tok, err := s.Issue(42, "marketing", "email")
	require.NoError(t, err)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)

	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(b)
	}
	other := signerAt(t, t0, key2)
	forged, err := other.Issue(42, "marketing", "email")
	require.NoError(t, err)
	// Same key id byte but a different key: rewrite id to key1's id.
	fr, _ := base64.RawURLEncoding.DecodeString(forged)
	fr[1] = KeyID(key1)
	forgedSameID := base64.RawURLEncoding.EncodeToString(fr)

	tests := []struct {
		name  string
		token string
		now   time.Time
		want  error
	}{
		{"profile id altered", flip(2), t0, ErrInvalidSignature},
		{"mac altered", flip(len(raw) - 1), t0, ErrInvalidSignature},
		{"version altered", flip(0), t0, ErrMalformed},
		{"forged with unknown key", forged, t0, ErrInvalidSignature},
		{"forged with other key, same id", forgedSameID, t0, ErrInvalidSignature},
		{"truncated", tok[:len(tok)-5], t0, ErrMalformed}, // non-canonical padding bits,
		{"empty", "", t0, ErrMalformed},
		{"not base64", "!!!!", t0, ErrMalformed},
		{"expired", tok, t0.Add(DefaultTTL), ErrExpired},
		{"issued in the future", tok, t0.Add(-time.Hour), ErrNotYetValid},
		{"valid after 60 days", tok, t0.Add(60 * 24 * time.Hour), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := signerAt(t, tc.now, key1)
			c, err := v.Verify(tc.token)
			if tc.want == nil {
				require.NoError(t, err)
				require.EqualValues(t, 42, c.ProfileID)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.Zero(t, c)
		})
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	old := signerAt(t, t0, key1)
	tok, err := old.Issue(7, "marketing", "sms")
	require.NoError(t, err)
	rotated := signerAt(t, t0, key2, key1)
	c, err := rotated.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, "sms", c.Channel)
	newTok, err := rotated.Issue(7, "marketing", "sms")
	require.NoError(t, err)
	_, err = old.Verify(newTok)
	require.ErrorIs(t, err, ErrInvalidSignature)
}

func TestConfig(t *testing.T) {
	t.Parallel()
	_, err := New(Config{})
	require.Error(t, err)
	_, err = New(Config{Keys: [][]byte{[]byte("short")}})
	require.ErrorContains(t, err, "at least 32")
	_, err = New(Config{Keys: [][]byte{key1}, TTL: 30 * 24 * time.Hour})
	require.ErrorContains(t, err, "below the minimum")
	s, err := New(Config{Keys: [][]byte{key1}, TTL: 365 * 24 * time.Hour})
	require.NoError(t, err)
	require.Equal(t, 365*24*time.Hour, s.TTL())
}

func TestLinks(t *testing.T) {
	t.Parallel()
	s := signerAt(t, t0, key1)
	l := Links{BaseURL: "https://prefs.example.com/", Signer: s}
	u, tok, err := l.Unsubscribe(9, "marketing", "email")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u, "https://prefs.example.com/unsubscribe?token="))
	require.Equal(t, "https://prefs.example.com/unsubscribe?token="+tok, u)
	p, _, err := l.Preferences(9, "marketing", "email")
	require.NoError(t, err)
	require.Contains(t, p, "/preferences?token=")
	_, _, err = Links{}.Unsubscribe(1, "m", "e")
	require.ErrorIs(t, err, ErrNoLinks)
	require.NoError(t, CheckBaseURL("https://x.example"))
	require.NoError(t, CheckBaseURL("http://127.0.0.1:8080"))
	require.Error(t, CheckBaseURL("http://x.example"))
}

func FuzzVerify(f *testing.F) {
	s, _ := New(Config{Keys: [][]byte{key1}, Now: func() time.Time { return t0 }})
	tok, _ := s.Issue(1, "marketing", "email")
	f.Add(tok)
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := s.Verify(in)
		if err == nil && in != tok {
			// Any other accepted token must re-encode identically.
			again, _ := s.IssueClaims(c)
			require.Equal(t, in, again)
		}
	})
}
