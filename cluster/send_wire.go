package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/tactcdp/tact/channels"
)

// The send path's messages on the wire, all JSON: a send (engine to
// sender, on the send stream), an eligibility question and its answer
// (sender to engine, request-reply) and a result (sender to engine, in the
// results bucket). Traits keep their Go types across the wire (an int64
// stays an int64, a time a time), so a template renders the same on a
// sender as in the single process.

// Partition is the send partition of a person: a stable hash of the
// profile id modulo n, the same on every node and across restarts.
func Partition(profileID int64, n int) int {
	h := fnv.New32a()
	_, _ = h.Write(strconv.AppendInt(nil, profileID, 10))
	return int(h.Sum32() % uint32(n)) //nolint:gosec // n is 1…1024 (validated)
}

// wireSend is one due send on the send stream.
type wireSend struct {
	Channel string      `json:"channel"`
	Message wireMessage `json:"message"`
}

// wireMessage is channels.Message with typed traits.
type wireMessage struct {
	IdempotencyKey string                `json:"key"`
	ProfileID      int64                 `json:"profile_id"`
	Journey        string                `json:"journey,omitempty"`
	JourneyVersion int                   `json:"journey_version,omitempty"`
	Step           string                `json:"step,omitempty"`
	Purpose        string                `json:"purpose,omitempty"`
	Transactional  bool                  `json:"transactional,omitempty"`
	To             string                `json:"to"`
	ToName         string                `json:"to_name,omitempty"`
	Timezone       string                `json:"timezone,omitempty"`
	Template       string                `json:"template,omitempty"`
	Traits         map[string]typedValue `json:"traits,omitempty"`
	Payload        map[string]any        `json:"payload,omitempty"`
	Test           bool                  `json:"test,omitempty"`
}

func toWire(m channels.Message) wireMessage {
	w := wireMessage{IdempotencyKey: m.IdempotencyKey, ProfileID: m.ProfileID, Journey: m.Journey, JourneyVersion: m.JourneyVersion,
		Step: m.Step, Purpose: m.Purpose, Transactional: m.Transactional, To: m.To, ToName: m.ToName, Timezone: m.Timezone,
		Template: m.Template, Payload: m.Payload, Test: m.Test}
	if len(m.Traits) > 0 {
		w.Traits = make(map[string]typedValue, len(m.Traits))
		for k, v := range m.Traits {
			w.Traits[k] = typedValue{v}
		}
	}
	return w
}

func (w wireMessage) message() channels.Message {
	m := channels.Message{IdempotencyKey: w.IdempotencyKey, ProfileID: w.ProfileID, Journey: w.Journey, JourneyVersion: w.JourneyVersion,
		Step: w.Step, Purpose: w.Purpose, Transactional: w.Transactional, To: w.To, ToName: w.ToName, Timezone: w.Timezone,
		Template: w.Template, Payload: w.Payload, Test: w.Test}
	if len(w.Traits) > 0 {
		m.Traits = make(map[string]any, len(w.Traits))
		for k, v := range w.Traits {
			m.Traits[k] = v.v
		}
	}
	return m
}

// decodeSend parses a send stream message, refusing one without a key.
func decodeSend(data []byte) (wireSend, error) {
	var s wireSend
	if err := json.Unmarshal(data, &s); err != nil {
		return s, &WireError{What: "send", Err: err}
	}
	if s.Message.IdempotencyKey == "" || s.Channel == "" {
		return s, &WireError{What: "send", Err: errors.New("no idempotency key or channel")}
	}
	return s, nil
}

// WireError is a cluster message that does not parse: a bug or a foreign
// publisher, never retried.
type WireError struct {
	What string
	Err  error
}

func (e *WireError) Error() string { return "cluster: malformed " + e.What + ": " + e.Err.Error() }
func (e *WireError) Unwrap() error { return e.Err }

// wireResult is channels.Result on the wire; Err travels as its text,
// which is all the journeys record of it.
type wireResult struct {
	Status       channels.Status `json:"status"`
	Err          string          `json:"err,omitempty"`
	Skip         bool            `json:"skip,omitempty"` // Err was a *channels.SkipError
	ProviderID   string          `json:"provider_id,omitempty"`
	Reason       string          `json:"reason,omitempty"`
	RetryAfter   time.Duration   `json:"retry_after,omitempty"`
	Units        int             `json:"units,omitempty"`
	Suppress     bool            `json:"suppress,omitempty"`
	OptedOut     bool            `json:"opted_out,omitempty"`
	TokenInvalid bool            `json:"token_invalid,omitempty"`
}

func resultToWire(r channels.Result) wireResult {
	w := wireResult{Status: r.Status, ProviderID: r.ProviderMessageID, Reason: r.Reason, RetryAfter: r.RetryAfter,
		Units: r.Units, Suppress: r.Suppress, OptedOut: r.OptedOut, TokenInvalid: r.TokenInvalid}
	if r.Err != nil {
		w.Err = r.Err.Error()
		var se *channels.SkipError
		w.Skip = errors.As(r.Err, &se)
	}
	return w
}

func (w wireResult) result() channels.Result {
	r := channels.Result{Status: w.Status, ProviderMessageID: w.ProviderID, Reason: w.Reason, RetryAfter: w.RetryAfter,
		Units: w.Units, Suppress: w.Suppress, OptedOut: w.OptedOut, TokenInvalid: w.TokenInvalid}
	switch {
	case w.Skip:
		r.Err = &channels.SkipError{Reason: w.Reason}
	case w.Err != "":
		r.Err = &RemoteError{Text: w.Err}
	}
	return r
}

// RemoteError is a send failure reported by a sender node.
type RemoteError struct{ Text string }

func (e *RemoteError) Error() string { return e.Text }

// eligibilityQuestion asks the engine whether one message may be sent now.
type eligibilityQuestion struct {
	Channel string      `json:"channel"`
	Message wireMessage `json:"message"`
}

// eligibilityAnswer is the engine's decision: Reason "" allows the send;
// Error says the engine could not decide (the sender holds the send).
type eligibilityAnswer struct {
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// typedValue is a trait value that keeps its Go type on the wire:
// [tag, value], tag s string, i int64 (as text: no float rounding), n int,
// f float64, b bool, t time (RFC 3339, nanoseconds), l list, z nil.
type typedValue struct{ v any }

func (t typedValue) MarshalJSON() ([]byte, error) {
	switch v := t.v.(type) {
	case nil:
		return []byte(`["z"]`), nil
	case string:
		return json.Marshal([]any{"s", v})
	case int64:
		return json.Marshal([]any{"i", strconv.FormatInt(v, 10)})
	case int:
		return json.Marshal([]any{"n", strconv.Itoa(v)})
	case float64:
		return json.Marshal([]any{"f", v})
	case bool:
		return json.Marshal([]any{"b", v})
	case time.Time:
		return json.Marshal([]any{"t", v.Format(time.RFC3339Nano)})
	case []any:
		list := make([]typedValue, len(v))
		for i, x := range v {
			list[i] = typedValue{x}
		}
		return json.Marshal([]any{"l", list})
	}
	return nil, fmt.Errorf("cluster: a trait of type %T has no wire form", t.v)
}

func (t *typedValue) UnmarshalJSON(b []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil || len(parts) == 0 || len(parts) > 2 {
		return errors.New("a trait value is not [tag, value]")
	}
	var tag string
	if err := json.Unmarshal(parts[0], &tag); err != nil {
		return errors.New("a trait value's tag is not text")
	}
	if tag == "z" {
		t.v = nil
		return nil
	}
	if len(parts) != 2 {
		return fmt.Errorf("a trait value tagged %q has no value", tag)
	}
	raw := parts[1]
	var err error
	switch tag {
	case "s":
		var s string
		err = json.Unmarshal(raw, &s)
		t.v = s
	case "i", "n":
		var s string
		if err = json.Unmarshal(raw, &s); err == nil {
			var n int64
			if n, err = strconv.ParseInt(s, 10, 64); err == nil {
				t.v = n
				if tag == "n" {
					t.v = int(n)
				}
			}
		}
	case "f":
		var f float64
		err = json.Unmarshal(raw, &f)
		t.v = f
	case "b":
		var v bool
		err = json.Unmarshal(raw, &v)
		t.v = v
	case "t":
		var s string
		if err = json.Unmarshal(raw, &s); err == nil {
			var tm time.Time
			if tm, err = time.Parse(time.RFC3339Nano, s); err == nil {
				t.v = tm
			}
		}
	case "l":
		var list []typedValue
		if err = json.Unmarshal(raw, &list); err == nil {
			out := make([]any, len(list))
			for i, x := range list {
				out[i] = x.v
			}
			t.v = out
		}
	default:
		return fmt.Errorf("a trait value has the unknown tag %q", tag)
	}
	if err != nil {
		// Not the parser's message: it would quote the value (personal
		// data) into the sender's log.
		return fmt.Errorf("a trait value tagged %q does not parse", tag)
	}
	return nil
}
