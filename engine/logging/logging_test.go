package logging_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine/logging"
)

func TestScrub(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"mail to Jane.Doe+x@Example.co.th now", "mail to [email] now"},
		{"call +66 81 234 5678 or (02) 123-4567", "call [phone] or [phone]"},
		{"+447700900123", "[phone]"},
		{"rows=12 profiles=3", "rows=12 profiles=3"},
		{"no personal data here", "no personal data here"},
		{"", ""},
	} {
		require.Equal(t, c.want, logging.Scrub(c.in), c.in)
	}
}

func TestHandlerRedacts(t *testing.T) {
	t.Parallel()
	for _, jsonOut := range []bool{false, true} {
		var buf bytes.Buffer
		log := logging.New(&buf, logging.Options{Level: slog.LevelDebug, JSON: jsonOut, ExtraSensitiveKeys: []string{"nickname"}})
		log = log.With("email", "with@example.com", "component", "import")
		log.WithGroup("req").Info("sent to someone@example.org",
			"email", "a@example.com",
			"phone", "+66812345678",
			"user_id", "u-secret-1",
			"city", "phone is 0812345678",
			"value", "Bangkok",
			"nickname", "Zed",
			"rows", 12,
			"took", 3*time.Millisecond,
			"err", errors.New("bad address b@example.net"),
			"list", []string{"c@example.com"},
			slog.Group("traits", "city", "Khon Kaen"),
			slog.Group("ctx", "note", "d@example.com", "count", 2),
		)
		out := buf.String()
		for _, secret := range []string{"with@example.com", "someone@example.org", "a@example.com", "+66812345678", "0812345678",
			"u-secret-1", "Bangkok", "Zed", "b@example.net", "c@example.com", "Khon Kaen", "d@example.com"} {
			require.NotContains(t, out, secret, "json=%v: %s", jsonOut, out)
		}
		if !jsonOut {
			require.Contains(t, out, "took=3ms")
		}
		for _, kept := range []string{"12", "component", "import", "[redacted]", "[email]", "[phone]", "count"} {
			require.Contains(t, out, kept, "json=%v: %s", jsonOut, out)
		}
		require.Equal(t, 1, strings.Count(out, "\n"))
	}
}

func TestLevel(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := logging.New(&buf, logging.Options{Level: slog.LevelWarn})
	log.Info("quiet")
	log.Warn("loud")
	require.NotContains(t, buf.String(), "quiet")
	require.Contains(t, buf.String(), "loud")
}
