package bridge

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/sms"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/eligibility"
	"github.com/tactcdp/tact/internal/dbtx"
)

// Adapter lets the engine's store satisfy the interfaces package channels
// declares (the engine never imports channels): the Gate every adapter
// calls right before a provider call, the ConsentRecorder for STOP keywords
// and provider opt-outs (with sms.StopRestorer for START), and the
// FeedbackSink for delivery feedback. The journeys runner and the server
// both use it; it is the only bridge between the two.
type Adapter struct {
	Store *engine.Store
}

var (
	_ channels.Gate         = (*Adapter)(nil)
	_ channels.FeedbackSink = (*Adapter)(nil)
	_ sms.StopRestorer      = (*Adapter)(nil)
)

// New returns the adapter over store.
func New(store *engine.Store) *Adapter { return &Adapter{Store: store} }

// Check decides one send right now with the per-person form of the
// eligibility decision (engine.EligiblePerson) for the address the message
// goes to. It returns "" to allow, or the reason. Any error refuses the
// send (fail closed).
func (a *Adapter) Check(ctx context.Context, channel string, m channels.Message) (string, error) {
	purpose := m.Purpose
	if !m.Marketing() {
		purpose = consent.Transactional
	}
	req := eligibility.Request{Purpose: purpose, Channel: channel, At: a.Store.Clock().Now()}
	return a.Store.EligibleTo(ctx, req, m.ProfileID, m.To)
}

// profilesHolding lists the profiles holding address on channel.
func (a *Adapter) profilesHolding(ctx context.Context, channel, address string) ([]int64, error) {
	kind := eligibility.AddressKind(channel)
	if kind == "" {
		return nil, fmt.Errorf("channel %q has no address kind", channel)
	}
	v, err := a.Store.NormaliseIdentifier(kind, address)
	if err != nil {
		return nil, err
	}
	return dbtx.QueryColumn[int64](ctx, a.Store.DB(), `SELECT DISTINCT profile_id FROM identities WHERE kind = ? AND value = ? ORDER BY 1`, kind, v)
}

func (a *Adapter) marketingPurposes(list []string) []string {
	if list != nil {
		return list
	}
	var out []string
	for _, p := range a.Store.Policy().Purposes() {
		if p.Name != consent.Transactional {
			out = append(out, p.Name)
		}
	}
	return out
}

// holders are the profiles holding c's address, and the instant of the
// change (now when c names none).
func (a *Adapter) holders(ctx context.Context, c channels.ConsentChange) ([]int64, time.Time, error) {
	ids, err := a.profilesHolding(ctx, c.Channel, c.Address)
	at := c.At
	if at.IsZero() {
		at = a.Store.Clock().Now()
	}
	return ids, at, err
}

func (a *Adapter) change(ctx context.Context, c channels.ConsentChange, status consent.Status) (bool, error) {
	ids, at, err := a.holders(ctx, c)
	if err != nil {
		return false, err
	}
	kind := eligibility.AddressKind(c.Channel)
	changed := false
	var ins []engine.ConsentInput
	for _, id := range ids {
		for _, purpose := range a.marketingPurposes(c.Purposes) {
			d, err := a.Store.EvaluateConsent(ctx, id, purpose, c.Channel, at)
			if err != nil {
				return false, err
			}
			if (status == consent.Granted) != d.Granted || (status == consent.Withdrawn && d.Reason != consent.ReasonWithdrawn) {
				changed = true
				ins = append(ins, engine.ConsentInput{ProfileID: id, Purpose: purpose, Channel: c.Channel, Status: status, EffectiveAt: at, Source: cmp.Or(c.Source, "channel"), Actor: "person"})
			}
		}
	}
	if len(ins) > 0 {
		if err := a.Store.RecordConsents(ctx, ins); err != nil {
			return false, err
		}
	}
	switch status {
	case consent.Withdrawn:
		// An SMS STOP stops every message from this sender to the number,
		// transactional ones too: it is a suppression as well as a
		// withdrawal. Elsewhere the address of nobody we know is kept out.
		if len(ids) == 0 || c.Channel == channels.SMS {
			sup, _, err := a.Store.Suppressed(ctx, kind, c.Address)
			if err != nil {
				return false, err
			}
			if !sup {
				changed = true
				if err := a.Store.Suppress(ctx, kind, c.Address, engine.SuppressStop, cmp.Or(c.Source, "channel")); err != nil {
					return false, err
				}
			}
		}
	case consent.Granted:
		return a.liftStop(ctx, kind, c.Address, changed)
	}
	return changed, nil
}

// liftStop removes a STOP suppression of an address (an opt-back-in); it
// reports changed, or true when there was one to lift. A bounce or a
// complaint is never lifted.
func (a *Adapter) liftStop(ctx context.Context, kind, address string, changed bool) (bool, error) {
	sup, reason, err := a.Store.Suppressed(ctx, kind, address)
	if err != nil {
		return false, err
	}
	if sup && reason == engine.SuppressStop {
		if err := a.Store.Unsuppress(ctx, kind, address); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}

// RestoreStopped implements sms.StopRestorer: for every holder of the
// address it re-grants the purposes an SMS STOP withdrew (engine's
// StopWithdrawn), never one the person did not grant, and lifts the STOP
// suppression of the number.
func (a *Adapter) RestoreStopped(ctx context.Context, c channels.ConsentChange) (bool, error) {
	ids, at, err := a.holders(ctx, c)
	if err != nil {
		return false, err
	}
	var ins []engine.ConsentInput
	for _, id := range ids {
		purposes, err := a.Store.StopWithdrawn(ctx, id, c.Channel, sms.SourcePrefix, at)
		if err != nil {
			return false, err
		}
		for _, p := range purposes {
			ins = append(ins, engine.ConsentInput{ProfileID: id, Purpose: p, Channel: c.Channel, Status: consent.Granted,
				EffectiveAt: at, Source: cmp.Or(c.Source, "channel"), Actor: "person"})
		}
	}
	if len(ins) > 0 {
		if err := a.Store.RecordConsents(ctx, ins); err != nil {
			return false, err
		}
	}
	return a.liftStop(ctx, eligibility.AddressKind(c.Channel), c.Address, len(ins) > 0)
}

// Withdraw implements channels.ConsentRecorder.
func (a *Adapter) Withdraw(ctx context.Context, c channels.ConsentChange) (bool, error) {
	return a.change(ctx, c, consent.Withdrawn)
}

// Grant implements channels.ConsentRecorder.
func (a *Adapter) Grant(ctx context.Context, c channels.ConsentChange) (bool, error) {
	return a.change(ctx, c, consent.Granted)
}

// RecordEvent implements channels.FeedbackSink: the event is imported
// through the engine (idempotent by message id).
func (a *Adapter) RecordEvent(ctx context.Context, e channels.Event) error {
	row := map[string]any{"event": e.Name, "timestamp": e.Timestamp.UTC().Format(time.RFC3339Nano)}
	if e.MessageID != "" {
		row["message_id"] = e.MessageID
	}
	if len(e.Properties) > 0 {
		row["properties"] = e.Properties
	}
	if e.ProfileID != 0 {
		p, err := a.Store.Profile(ctx, e.ProfileID)
		if err != nil {
			return nil // unknown profile: dropped
		}
		switch {
		case p.UserID != "":
			row["user_id"] = p.UserID
		case p.Email != "":
			row["email"] = p.Email
		case p.Phone != "":
			row["phone"] = p.Phone
		default:
			return nil
		}
	} else {
		ids, err := a.profilesHolding(ctx, e.Channel, e.Address)
		if err != nil || len(ids) == 0 {
			return nil
		}
		row[eligibility.AddressKind(e.Channel)] = e.Address
	}
	_, err := a.Store.ImportRows(ctx, engine.ImportEvents, "feedback", []map[string]any{row})
	return err
}

// Suppress implements channels.FeedbackSink.
func (a *Adapter) Suppress(ctx context.Context, s channels.Suppression) error {
	kind := eligibility.AddressKind(s.Channel)
	if kind == "" {
		return fmt.Errorf("cannot suppress on channel %q", s.Channel)
	}
	return a.Store.Suppress(ctx, kind, s.Address, cmp.Or(s.Reason, "manual"), cmp.Or(s.Source, "feedback"))
}

// DropDeviceToken implements channels.FeedbackSink. The engine has no
// identity-removal API yet, so the token is suppressed instead: it is never
// used again, which is what the interface promises callers.
func (a *Adapter) DropDeviceToken(ctx context.Context, token string, at time.Time, reason string) error {
	if strings.TrimSpace(token) == "" {
		return nil
	}
	return a.Store.Suppress(ctx, engine.KindDeviceToken, token, engine.SuppressInvalid, "feedback:"+reason)
}
