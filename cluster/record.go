package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tactcdp/tact/engine"
)

// record is one stream message: a profile row (identify, alias) or one
// event, as the ingest node validated it.
type record struct {
	// Untrusted marks rows sent with a client write key: the engine writes
	// them with the store's untrusted import (engine.IngestBatch).
	Untrusted bool           `json:"u,omitempty"`
	Profile   map[string]any `json:"p,omitempty"`
	// UpdatedAt is the profile row's updated_at, kept typed (JSON would
	// turn it into a string).
	UpdatedAt *time.Time `json:"t,omitempty"`
	// ProfileMessageID is the profile row's message id, "" for none: the
	// store leaves out a row whose message was stored before.
	ProfileMessageID string       `json:"pm,omitempty"`
	Event            *eventRecord `json:"e,omitempty"`
}

// eventRecord is one event in the columns of engine.IngestEvents.
type eventRecord struct {
	UserID      string    `json:"uid,omitempty"`
	AnonymousID string    `json:"aid,omitempty"`
	Event       string    `json:"ev"`
	TS          time.Time `json:"ts"`
	Properties  string    `json:"pr,omitempty"`
	Context     string    `json:"cx,omitempty"`
	MessageID   string    `json:"id,omitempty"`
}

// profileRecord turns an import row, with its message id, into a record.
func profileRecord(row map[string]any, messageID string, untrusted bool) record {
	r := record{Untrusted: untrusted, Profile: make(map[string]any, len(row)), ProfileMessageID: messageID}
	for k, v := range row {
		if t, ok := v.(time.Time); ok && k == "updated_at" {
			r.UpdatedAt = &t
			continue
		}
		r.Profile[k] = v
	}
	return r
}

// eventRowRecord turns an event import row (the server's converted
// message) into a record.
func eventRowRecord(row map[string]any, untrusted bool) (record, error) {
	ev := &eventRecord{}
	ev.UserID, _ = row[engine.KindUserID].(string)
	ev.AnonymousID, _ = row[engine.KindAnonymousID].(string)
	ev.Event, _ = row["event"].(string)
	ev.TS, _ = row["timestamp"].(time.Time)
	ev.MessageID, _ = row["message_id"].(string)
	var err error
	if ev.Properties, err = objectText(row["properties"]); err != nil {
		return record{}, fmt.Errorf("properties: %w", err)
	}
	if ev.Context, err = objectText(row["context"]); err != nil {
		return record{}, fmt.Errorf("context: %w", err)
	}
	return record{Untrusted: untrusted, Event: ev}, nil
}

func objectText(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// msgID is the record's Nats-Msg-Id: an event's messageId, so that a
// client's retry is refused by the stream's de-duplication; for rows
// without one (profiles, events sent without messageId) a hash of the
// content, which the same bytes repeat.
func (r record) msgID(body []byte) string {
	if r.Event != nil && r.Event.MessageID != "" {
		return r.Event.MessageID
	}
	sum := sha256.Sum256(body)
	prefix := "p:"
	if r.Event != nil {
		prefix = "c:"
	}
	return prefix + hex.EncodeToString(sum[:16])
}

// decodeRecord reads a stream message; numbers stay json.Number, as the
// server decoded them from the client's JSON.
func decodeRecord(b []byte) (record, error) {
	var r record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return record{}, err
	}
	if (r.Event == nil) == (r.Profile == nil) {
		return record{}, fmt.Errorf("want exactly one of a profile and an event")
	}
	return r, nil
}

// profileRow is the record's profile as an import row.
func (r record) profileRow() map[string]any {
	row := make(map[string]any, len(r.Profile)+1)
	for k, v := range r.Profile {
		row[k] = v
	}
	if r.UpdatedAt != nil {
		row["updated_at"] = *r.UpdatedAt
	}
	return row
}

// eventRow is the record's event as an import row (for events without a
// message id, which go through the store's import).
func (r record) eventRow() (map[string]any, error) {
	ev := r.Event
	row := map[string]any{"event": ev.Event, "timestamp": ev.TS}
	if ev.UserID != "" {
		row[engine.KindUserID] = ev.UserID
	}
	if ev.AnonymousID != "" {
		row[engine.KindAnonymousID] = ev.AnonymousID
	}
	for k, text := range map[string]string{"properties": ev.Properties, "context": ev.Context} {
		if text == "" {
			continue
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader([]byte(text)))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		row[k] = m
	}
	return row, nil
}
