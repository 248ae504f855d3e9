package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine/consent"
)

// maxReceiptID bounds a provider message id.
const maxReceiptID = 256

// ClaimWebhook records that the inbound webhook provider sent with
// messageID is being handled. It returns false when that message was
// claimed before: a replay (or a provider's retry of a message already
// applied) changes nothing. Call ReleaseWebhook when handling fails, so the
// provider's retry is not refused.
func (s *Store) ClaimWebhook(ctx context.Context, provider, messageID string) (bool, error) {
	if messageID == "" || len(messageID) > maxReceiptID {
		return false, &ValidationError{Field: "message_id", Msg: fmt.Sprintf("want 1 to %d characters", maxReceiptID)}
	}
	claimed := false
	err := s.write(ctx, func(w *writer) error {
		var n int
		if err := w.queryRow(`SELECT count(*) FROM webhook_receipts WHERE provider = ? AND message_id = ?`, provider, messageID).Scan(&n); err != nil || n > 0 {
			return err
		}
		_, err := w.exec(`INSERT INTO webhook_receipts VALUES (?, ?, ?)`, provider, messageID, s.now())
		claimed = err == nil
		return err
	})
	return claimed, err
}

// ReleaseWebhook forgets a claim whose handling failed.
func (s *Store) ReleaseWebhook(ctx context.Context, provider, messageID string) error {
	return s.write(ctx, func(w *writer) error {
		_, err := w.exec(`DELETE FROM webhook_receipts WHERE provider = ? AND message_id = ?`, provider, messageID)
		return err
	})
}

// StopWithdrawn lists the purposes a channel keyword (an SMS STOP, source
// starting with sourcePrefix) withdrew on channel for profile id and that
// are still withdrawn by it at at: the decisive entry is that withdrawal,
// and the person was granted just before it was recorded. Both tests are
// consent.Evaluate's. A START restores exactly these, never a grant the
// person did not give.
func (s *Store) StopWithdrawn(ctx context.Context, id int64, channel, sourcePrefix string, at time.Time) ([]string, error) {
	entries, err := s.ConsentLedger(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range s.policy.Purposes() {
		if p.Name == "transactional" {
			continue
		}
		d := consent.Evaluate(s.policy, entries, p.Name, channel, at)
		stop := d.Entry
		if stop == nil || stop.Status != consent.Withdrawn || !strings.HasPrefix(stop.Source, sourcePrefix) {
			continue
		}
		var before []consent.Entry
		for _, e := range entries {
			if e.Seq < stop.Seq {
				before = append(before, e)
			}
		}
		if consent.Evaluate(s.policy, before, p.Name, channel, stop.EffectiveAt).Granted {
			out = append(out, p.Name)
		}
	}
	return out, nil
}
