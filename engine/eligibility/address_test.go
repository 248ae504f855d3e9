package eligibility

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAddressKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		channel, kind string
		one           bool
	}{
		{"email", "email", true},
		{"sms", "phone", true},
		{"push", "device_token", false},
		{"line", "line_user_id", false},
		{"webhook", "", false},
		{"*", "", false},
	} {
		require.Equal(t, tc.kind, AddressKind(tc.channel), tc.channel)
		if tc.kind != "" {
			require.Equal(t, tc.one, OneAddress(tc.kind), tc.kind)
			require.Contains(t, AddressKinds(), tc.kind)
			require.Contains(t, ChannelKindSQL("l.channel", "i.kind"), "(l.channel = '"+tc.channel+"' AND i.kind = '"+tc.kind+"')")
		}
	}
	require.Equal(t, []string{"email", "phone", "device_token", "line_user_id"}, AddressKinds())
}

// TestSQLUsesTheUsableAddressRule: the set form picks a multi-address
// channel's address with UsableAddressSQL, the relation the outbox reads.
func TestSQLUsesTheUsableAddressRule(t *testing.T) {
	t.Parallel()
	for _, ch := range []string{"push", "line"} {
		q, args := SQL(Request{Purpose: "transactional", Channel: ch}, "people", "", nil)
		require.True(t, strings.Contains(q, UsableAddressSQL("people")), ch)
		require.Equal(t, []any{AddressKind(ch)}, args)
	}
}
