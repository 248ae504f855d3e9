package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestUntrustedImportKeepsContacts (item 6): an untrusted import (a client
// write key) cannot change or add a user_id, email or phone on a profile
// that has one, even through rows of one input that only together link
// the attacker's address to the person; nothing is written.
func TestUntrustedImportKeepsContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name string
		rows []map[string]any
		kind string // "" = allowed
	}{
		{"new email on a profile with one", []map[string]any{{"user_id": "victim", "email": "evil@example.com"}}, engine.KindEmail},
		{"chain within one input", []map[string]any{{"anonymous_id": "x", "email": "evil@example.com"}, {"anonymous_id": "x", "user_id": "victim"}}, engine.KindEmail},
		{"new phone on a profile with one", []map[string]any{{"user_id": "victim", "phone": "+66812345670"}}, engine.KindPhone},
		{"new LINE user on a profile with one", []map[string]any{{"user_id": "victim", "line_user_id": "U0123456789abcdef0123456789abcdef"}}, engine.KindLINEUserID},
		{"anonymous id and traits", []map[string]any{{"user_id": "victim", "anonymous_id": "a1", "plan": "pro"}}, ""},
		{"same email again", []map[string]any{{"user_id": "victim", "email": "Victim@Example.com"}}, ""},
		{"a new person", []map[string]any{{"anonymous_id": "a9", "email": "new@example.com", "phone": "+66812345679"}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, _ := openStore(t)
			mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id,email,phone,line_user_id\nvictim,victim@example.com,+66812345678,Ufedcba9876543210fedcba9876543210\n"))
			before := counts(t, s)
			_, err := s.ImportRowsUntrusted(ctx, engine.ImportProfiles, "client", tc.rows)
			if tc.kind == "" {
				require.NoError(t, err)
				return
			}
			var te *engine.TrustError
			require.True(t, errors.As(err, &te), "%v", err)
			require.Equal(t, tc.kind, te.Kind)
			require.Equal(t, before, counts(t, s))
			// The same rows from a trusted source are fine.
			_, err = s.ImportRows(ctx, engine.ImportProfiles, "crm", tc.rows)
			require.NoError(t, err)
		})
	}
}
