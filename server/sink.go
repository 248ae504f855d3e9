package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/sms"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// StoreSink is a channels.FeedbackSink over the store, used when no other
// sink (the journeys adapter) is given: SMS keywords and provider feedback
// become ledger entries, events and suppressions.
type StoreSink struct {
	Store *engine.Store
}

var _ channels.FeedbackSink = (*StoreSink)(nil)

// identityKind maps a channel to the identity kind holding its address.
func identityKind(channel string) (string, error) {
	switch channel {
	case channels.Email:
		return engine.KindEmail, nil
	case channels.SMS:
		return engine.KindPhone, nil
	case channels.Push:
		return engine.KindDeviceToken, nil
	}
	return "", fmt.Errorf("no addresses on channel %q", channel)
}

// holders lists the profiles holding address on channel.
func (k *StoreSink) holders(ctx context.Context, channel, address string) (string, string, []int64, error) {
	kind, err := identityKind(channel)
	if err != nil {
		return "", "", nil, err
	}
	v, err := k.Store.NormaliseIdentifier(kind, address)
	if err != nil {
		return "", "", nil, &engine.ValidationError{Field: "address", Msg: err.Error()}
	}
	rows, err := k.Store.DB().QueryContext(ctx, `SELECT DISTINCT profile_id FROM identities WHERE kind = ? AND value = ? ORDER BY 1`, kind, v)
	if err != nil {
		return "", "", nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return "", "", nil, err
		}
		ids = append(ids, id)
	}
	return kind, v, ids, rows.Err()
}

func (k *StoreSink) purposes(list []string) []string {
	if list != nil {
		return list
	}
	var out []string
	for _, p := range k.Store.Policy().Purposes() {
		if p.Name != channels.PurposeTransactional {
			out = append(out, p.Name)
		}
	}
	return out
}

// change records status for every purpose whose latest matching entry is
// not already status, for every holder. It reports whether anything changed.
func (k *StoreSink) change(ctx context.Context, c channels.ConsentChange, status consent.Status, ids []int64) (bool, error) {
	at := c.At
	if at.IsZero() {
		at = k.Store.Clock().Now()
	}
	var ins []engine.ConsentInput
	for _, id := range ids {
		for _, p := range k.purposes(c.Purposes) {
			d, err := k.Store.EvaluateConsent(ctx, id, p, c.Channel, at)
			if err != nil {
				return false, err
			}
			if d.Entry != nil && d.Entry.Status == status && (status != consent.Granted || d.Granted) {
				continue
			}
			ins = append(ins, engine.ConsentInput{ProfileID: id, Purpose: p, Channel: c.Channel, Status: status,
				EffectiveAt: at, Source: orDefault(c.Source, "channel"), Actor: "person"})
		}
	}
	if len(ins) == 0 {
		return false, nil
	}
	return true, k.Store.RecordConsents(ctx, ins)
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// Withdraw implements channels.ConsentRecorder.
func (k *StoreSink) Withdraw(ctx context.Context, c channels.ConsentChange) (bool, error) {
	kind, addr, ids, err := k.holders(ctx, c.Channel, c.Address)
	if err != nil {
		return false, err
	}
	changed, err := k.change(ctx, c, consent.Withdrawn, ids)
	if err != nil {
		return false, err
	}
	if len(ids) == 0 {
		sup, _, err := k.Store.Suppressed(ctx, kind, addr)
		if err != nil {
			return false, err
		}
		if !sup {
			if err := k.Store.Suppress(ctx, kind, addr, engine.SuppressStop, orDefault(c.Source, "channel")); err != nil {
				return false, err
			}
			changed = true
		}
	}
	return changed, nil
}

// Grant implements channels.ConsentRecorder.
func (k *StoreSink) Grant(ctx context.Context, c channels.ConsentChange) (bool, error) {
	kind, addr, ids, err := k.holders(ctx, c.Channel, c.Address)
	if err != nil {
		return false, err
	}
	changed, err := k.change(ctx, c, consent.Granted, ids)
	if err != nil {
		return false, err
	}
	return k.liftStop(ctx, kind, addr, changed)
}

// liftStop removes a STOP suppression of an address (an opt-back-in); it
// reports changed, or true when there was one to lift.
func (k *StoreSink) liftStop(ctx context.Context, kind, addr string, changed bool) (bool, error) {
	sup, reason, err := k.Store.Suppressed(ctx, kind, addr)
	if err != nil {
		return false, err
	}
	if sup && reason == engine.SuppressStop {
		if err := k.Store.Unsuppress(ctx, kind, addr); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}

// RecordEvent implements channels.FeedbackSink.
func (k *StoreSink) RecordEvent(ctx context.Context, e channels.Event) error {
	var kind, value string
	if e.ProfileID != 0 {
		ids, err := k.Store.Identities(ctx, e.ProfileID)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		kind, value = ids[0].Kind, ids[0].Value
	} else {
		var holders []int64
		var err error
		kind, value, holders, err = k.holders(ctx, e.Channel, e.Address)
		if err != nil {
			var ve *engine.ValidationError
			if errors.As(err, &ve) {
				return nil
			}
			return err
		}
		if len(holders) == 0 {
			return nil // nobody to attach it to: dropped
		}
	}
	ts := e.Timestamp
	if ts.IsZero() {
		ts = k.Store.Clock().Now()
	}
	row := map[string]any{kind: value, "event": e.Name, "timestamp": ts.UTC().Truncate(time.Microsecond)}
	if e.MessageID != "" {
		row["message_id"] = e.MessageID
	}
	if len(e.Properties) > 0 {
		row["properties"] = e.Properties
	}
	_, err := k.Store.ImportRows(ctx, engine.ImportEvents, "feedback", []map[string]any{row})
	return err
}

// Suppress implements channels.FeedbackSink.
func (k *StoreSink) Suppress(ctx context.Context, s channels.Suppression) error {
	kind, err := identityKind(s.Channel)
	if err != nil {
		return err
	}
	return k.Store.Suppress(ctx, kind, s.Address, orDefault(s.Reason, engine.SuppressManual), orDefault(s.Source, "feedback"))
}

// DropDeviceToken implements channels.FeedbackSink. The store has no
// operation to unlink one identity yet, so the token is suppressed, which
// keeps every later push to it from being attempted.
func (k *StoreSink) DropDeviceToken(ctx context.Context, token string, at time.Time, reason string) error {
	return k.Store.Suppress(ctx, engine.KindDeviceToken, token, engine.SuppressInvalid, "feedback:"+orDefault(reason, "unregistered"))
}

// RestoreStopped implements sms.StopRestorer: for every holder of the
// address it re-grants the purposes an SMS STOP withdrew (engine's
// StopWithdrawn), and lifts a STOP suppression of an address nobody holds.
func (k *StoreSink) RestoreStopped(ctx context.Context, c channels.ConsentChange) (bool, error) {
	kind, addr, ids, err := k.holders(ctx, c.Channel, c.Address)
	if err != nil {
		return false, err
	}
	at := c.At
	if at.IsZero() {
		at = k.Store.Clock().Now()
	}
	var ins []engine.ConsentInput
	for _, id := range ids {
		purposes, err := k.Store.StopWithdrawn(ctx, id, c.Channel, sms.SourcePrefix, at)
		if err != nil {
			return false, err
		}
		for _, p := range purposes {
			ins = append(ins, engine.ConsentInput{ProfileID: id, Purpose: p, Channel: c.Channel, Status: consent.Granted,
				EffectiveAt: at, Source: orDefault(c.Source, "channel"), Actor: "person"})
		}
	}
	if len(ins) > 0 {
		if err := k.Store.RecordConsents(ctx, ins); err != nil {
			return false, err
		}
	}
	return k.liftStop(ctx, kind, addr, len(ins) > 0)
}
