package linktoken

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOnlyTheCanonicalSpellingVerifies (item 10): CR, LF, spaces or tabs
// inserted into a token, or other padding bits, make it malformed, so one
// token has exactly one spelling (and one rate-limit bucket).
func TestOnlyTheCanonicalSpellingVerifies(t *testing.T) {
	t.Parallel()
	s := signerAt(t, t0, key1)
	tok, err := s.Issue(42, "marketing", "email")
	require.NoError(t, err)
	mid := len(tok) / 2
	last := tok[len(tok)-1]
	// Flip the unused low bits of the last character (the encoding has
	// 2 or 4 padding bits at the end).
	alt := string(rune(last ^ 1))
	cases := map[string]string{
		"crlf":     tok[:mid] + "\r\n" + tok[mid:],
		"lf":       tok[:mid] + "\n" + tok[mid:],
		"space":    tok[:mid] + " " + tok[mid:],
		"tab":      "\t" + tok,
		"trailing": tok + "\n",
		"bits":     tok[:len(tok)-1] + alt,
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.Verify(bad)
			require.True(t, errors.Is(err, ErrMalformed) || errors.Is(err, ErrInvalidSignature), "%v", err)
		})
	}
	_, err = s.Verify(tok)
	require.NoError(t, err)
}
