package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// TestWithdrawAllInput: a withdrawal or denial with no purpose or no
// channel is recorded as one */* entry (item 1, input side), in a CSV (one
// such row no longer rejects the file) and through RecordConsent; a grant
// without a purpose or channel stays an error naming the field.
func TestWithdrawAllInput(t *testing.T) {
	t.Parallel()
	s, _, _ := openStore(t)
	ctx := context.Background()
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "p.csv", "user_id,email\nu1,a@example.com\nu2,b@example.com\nu3,c@example.com\n"))
	res := mustImport(t, s, engine.ImportConsents, writeFile(t, "c.csv",
		"user_id,purpose,channel,status,timestamp\n"+
			"u1,marketing,sms,granted,2026-01-01T00:00:00Z\n"+
			"u1,,,withdrawn,2026-02-01T00:00:00Z\n"+
			"u2,marketing,,denied,2026-02-01T00:00:00Z\n"))
	require.Equal(t, 3, res.ConsentsAdded)
	for _, who := range []string{"u1", "u2"} {
		ledger, err := s.ConsentLedger(ctx, resolve(t, s, who))
		require.NoError(t, err)
		last := ledger[len(ledger)-1]
		require.Equal(t, consent.Wildcard, last.Purpose, who)
		require.Equal(t, consent.Wildcard, last.Channel, who)
	}

	// A file without purpose and channel columns holds withdraw-alls only.
	mustImport(t, s, engine.ImportConsents, writeFile(t, "w.jsonl", `{"user_id":"u3","status":"withdrawn","timestamp":"2026-03-01T00:00:00Z"}`+"\n"))
	ledger, err := s.ConsentLedger(ctx, resolve(t, s, "u3"))
	require.NoError(t, err)
	require.Len(t, ledger, 1)
	require.Equal(t, "*", ledger[0].Purpose)

	// Grants must name purpose and channel.
	_, err = s.Import(ctx, engine.ImportConsents, writeFile(t, "g.csv", "user_id,purpose,channel,status,timestamp\nu3,marketing,,granted,2026-01-01T00:00:00Z\n"))
	var ie *engine.ImportError
	require.True(t, errors.As(err, &ie), "%v", err)
	require.Equal(t, 2, ie.Line)
	require.Equal(t, "channel", ie.Field)

	id := resolve(t, s, "u3")
	require.NoError(t, s.RecordConsent(ctx, engine.ConsentInput{ProfileID: id, Status: consent.Denied, Source: "test"}))
	err = s.RecordConsent(ctx, engine.ConsentInput{ProfileID: id, Channel: "email", Status: consent.Granted, Source: "test"})
	var ve *engine.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	require.Equal(t, "consents[0].purpose", ve.Field)
}
