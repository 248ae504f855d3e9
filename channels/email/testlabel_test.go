package email

import (
	"bytes"
	"mime"
	"net/mail"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTestSendsAreLabelled: a test send's subject starts with [TEST]; a
// real send's does not.
func TestTestSendsAreLabelled(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	require.NoError(t, cfg.setDefaults())
	subject := func(test bool) string {
		m := receipt("anan@example.net")
		m.Test = test
		c, err := Compose(&cfg, m)
		require.NoError(t, err)
		msg, err := mail.ReadMessage(bytes.NewReader(c.Raw))
		require.NoError(t, err)
		s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		require.NoError(t, err)
		return s
	}
	real, test := subject(false), subject(true)
	require.NotContains(t, real, "[TEST]")
	require.Equal(t, "[TEST] "+real, test)
}
