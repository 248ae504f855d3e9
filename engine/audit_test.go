package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// auditedStore is a store with a few audit entries of different kinds.
func auditedStore(t *testing.T) *engine.Store {
	t.Helper()
	ctx := context.Background()
	s, clk, _ := openStore(t)
	seedPeople(t, s) // consent import: one entry
	id := resolve(t, s, controlEmail)
	clk.Advance(time.Minute)
	require.NoError(t, s.RecordConsent(ctx, engine.ConsentInput{ProfileID: id, Purpose: "analytics", Channel: "*", Status: consent.Granted, Source: "cli", Actor: "operator"}))
	_, err := s.ExportPersonalData(ctx, controlEmail, engine.PrivacyOptions{})
	require.NoError(t, err)
	_, err = s.Restrict(ctx, controlEmail, engine.PrivacyOptions{})
	require.NoError(t, err)
	require.NoError(t, s.RecordAdminRead(ctx, "alice", "profile show", id))
	return s
}

func TestAuditLogRecordsAndVerifies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := auditedStore(t)
	require.Equal(t, []string{engine.AuditConsentImported, engine.AuditConsentRecorded, engine.AuditPrivacyExport,
		engine.AuditPrivacyRestrict, engine.AuditAdminRead}, auditActions(t, s))
	log, err := s.AuditLog(ctx, 0, 0)
	require.NoError(t, err)
	for i, e := range log {
		require.EqualValues(t, i+1, e.Seq)
		if i > 0 {
			require.Equal(t, log[i-1].Hash, e.PrevHash)
		}
		require.Len(t, e.Hash, 64)
	}
	require.Equal(t, "alice", log[4].Actor)
	rep, err := s.VerifyAudit(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 5, rep.Entries)
	require.Equal(t, log[4].Hash, rep.Head)

	// An empty log verifies.
	empty, _, _ := openStore(t)
	rep, err = empty.VerifyAudit(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Entries)
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		tamper  []string
		seq     int64
		problem string
	}{
		{"changed details", []string{`UPDATE audit_log SET details = '{"what":"nothing to see"}' WHERE seq = 5`}, 5, "changed"},
		{"changed actor", []string{`UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`}, 3, "changed"},
		{"changed time", []string{`UPDATE audit_log SET at = at - INTERVAL 1 DAY WHERE seq = 2`}, 2, "changed"},
		{"rehashed after change", []string{`UPDATE audit_log SET actor = 'mallory', hash = repeat('a', 64) WHERE seq = 3`}, 3, "changed"},
		{"deleted in the middle", []string{`DELETE FROM audit_log WHERE seq = 3`}, 3, "deleted"},
		{"deleted and renumbered", []string{`DELETE FROM audit_log WHERE seq = 3`, `UPDATE audit_log SET seq = seq - 1 WHERE seq > 3`}, 3, "changed"},
		{"deleted at the end", []string{`DELETE FROM audit_log WHERE seq = 5`}, 5, "deleted"},
		{"reordered", []string{`UPDATE audit_log SET seq = CASE seq WHEN 2 THEN 3 ELSE 2 END WHERE seq IN (2, 3)`}, 2, "moved"},
		{"duplicated", []string{`INSERT INTO audit_log SELECT * FROM audit_log WHERE seq = 4`}, 4, "twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := auditedStore(t)
			_, err := s.VerifyAudit(ctx)
			require.NoError(t, err)
			for _, q := range c.tamper {
				_, err := s.DB().Exec(q)
				require.NoError(t, err)
			}
			_, err = s.VerifyAudit(ctx)
			var te *engine.AuditTamperError
			require.True(t, errors.As(err, &te), "want *AuditTamperError, got %v", err)
			require.Equal(t, c.seq, te.Seq, err.Error())
			require.Contains(t, err.Error(), c.problem)
			require.Contains(t, err.Error(), "audit log entry")
		})
	}
}
