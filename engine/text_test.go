package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestMalformedTextIsRefused (item 10): invalid UTF-8 and NUL bytes in an
// import are refused with file:line:column naming the field, never stored
// with a replacement character; nothing of the file is written.
func TestMalformedTextIsRefused(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	cases := []struct {
		name, file, body string
		kind             engine.ImportKind
		line, col        int
		field            string
	}{
		{"csv invalid utf-8", "p.csv", "user_id,email,city\nu1,ok@example.com,Bangkok\nu2,bad@example.co\xff,Rome\n", engine.ImportProfiles, 3, 18, "email"},
		{"csv nul in trait", "p.csv", "user_id,city\nu3,Ban\x00gkok\n", engine.ImportProfiles, 2, 7, "city"},
		{"jsonl escaped nul in event", "e.jsonl", `{"user_id":"u1","event":"buy\u0000","timestamp":"2026-01-01T00:00:00Z"}` + "\n", engine.ImportEvents, 1, 0, "event"},
		{"jsonl lone surrogate", "e.jsonl", `{"user_id":"u1","event":"buy","timestamp":"2026-01-01T00:00:00Z","properties":{"x":"\ud800"}}` + "\n", engine.ImportEvents, 1, 0, "properties"},
		{"jsonl invalid utf-8", "p.jsonl", "{\"user_id\":\"u1\",\"email\":\"bad@example.co\xfe\"}\n", engine.ImportProfiles, 1, 0, "email"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := counts(t, s)
			_, err := s.Import(context.Background(), tc.kind, writeFile(t, tc.file, tc.body))
			var ie *engine.ImportError
			require.True(t, errors.As(err, &ie), "%v", err)
			require.Equal(t, tc.line, ie.Line, ie.Error())
			require.Equal(t, tc.col, ie.Column, ie.Error())
			require.Equal(t, tc.field, ie.Field, ie.Error())
			require.Equal(t, before, counts(t, s))
		})
	}
	_, err := engine.NormaliseEmail("bad@example.co\uFFFD")
	require.Error(t, err)
}
