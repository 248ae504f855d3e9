package journeys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/engine/eligibility"
)

// AuditTestSend is the audit action of a test send (details: journey,
// version, step, channel, a keyed hash of the seed address, status).
const AuditTestSend = "journey.test_send"

// Errors of a test send (errors.Is).
var (
	// ErrNoSendStep: the journey has no send step (or not the one named).
	ErrNoSendStep = errors.New("no such send step")
	// ErrNoChannel: no adapter is configured for the step's channel.
	ErrNoChannel = errors.New("no channel configured")
	// ErrAddressSuppressed: the seed address is on the suppression list.
	ErrAddressSuppressed = errors.New("address is suppressed")
	// ErrNotRendered: the message would not render for the person.
	ErrNotRendered = errors.New("message would not render")
	// ErrNotDelivered: the channel did not accept the message.
	ErrNotDelivered = errors.New("test message not delivered")
	// ErrNoPerson: nobody's data is there to render the message with.
	ErrNoPerson = errors.New("no person to render with")
)

// TestSendError says what stopped a test send; errors.Is its Err.
type TestSendError struct {
	Journey, Step string
	Err           error
	Detail        string
}

func (e *TestSendError) Error() string {
	step := ""
	if e.Step != "" {
		step = " step " + e.Step
	}
	return fmt.Sprintf("test send %s%s: %v: %s", e.Journey, step, e.Err, e.Detail)
}

// Unwrap is Err.
func (e *TestSendError) Unwrap() error { return e.Err }

// TestSendOptions says what to send where.
type TestSendOptions struct {
	// Step is the send step (default: the first send step).
	Step string
	// ProfileID is whose data fills the message (0: the first person the
	// preview picks).
	ProfileID int64
	// To is the seed address: the only recipient, never the person.
	To string
	// Channels are the adapters by name; the step's channel sends.
	Channels map[string]channels.Channel
	Links    linktoken.Links
	Actor    string
}

// TestSent is what a test send did.
type TestSent struct {
	Journey   string `json:"journey"`
	Step      string `json:"step"`
	Channel   string `json:"channel"`
	ProfileID int64  `json:"profile_id"`
	// ProviderMessageID is the provider's id of the message, when it gives one.
	ProviderMessageID string `json:"provider_message_id,omitempty"`
}

// TestSend renders one send step with one person's data, as Preview does,
// and sends exactly one message through the step's channel, marked as a
// test (channels.Message.Test: the adapters label it), to opts.To only.
// A suppressed address is refused; nothing is written to the outbox, the
// results or the stats, only the audit log (the read, and the send with a
// keyed hash of the address).
func (r *Runner) TestSend(ctx context.Context, spec *Spec, version int, opts TestSendOptions) (TestSent, error) {
	st, err := testSendStep(spec, opts.Step)
	if err != nil {
		return TestSent{}, err
	}
	fail := func(e error, detail string, args ...any) (TestSent, error) {
		return TestSent{}, &TestSendError{Journey: spec.Name, Step: st.ID, Err: e, Detail: fmt.Sprintf(detail, args...)}
	}
	ch, ok := opts.Channels[st.Channel]
	if !ok {
		return fail(ErrNoChannel, "configure channels.%s in tact.yaml", st.Channel)
	}
	kind := eligibility.AddressKind(st.Channel)
	if kind == "" {
		return fail(ErrNoChannel, "channel %s has no address kind", st.Channel)
	}
	suppressed, reason, err := r.store.Suppressed(ctx, kind, opts.To)
	if err != nil {
		return TestSent{}, fmt.Errorf("--to: %w", err)
	}
	if suppressed {
		return fail(ErrAddressSuppressed, "the %s address given is on the suppression list (%s)", kind, reason)
	}
	po := PreviewOptions{People: 1, Links: opts.Links, Actor: opts.Actor}
	if opts.ProfileID != 0 {
		po.ProfileIDs = []int64{opts.ProfileID}
	}
	p, err := r.Preview(ctx, spec, version, po)
	if err != nil {
		return TestSent{}, err
	}
	var send *PreviewSend
	for _, ps := range p.Steps {
		if ps.Step == st.ID && len(ps.Sends) > 0 {
			send = &ps.Sends[0]
		}
	}
	if send == nil {
		return fail(ErrNoPerson, "nobody to take the data from (%s)", p.PeopleFrom)
	}
	if send.RenderError != "" {
		return fail(ErrNotRendered, "%s", send.RenderError)
	}
	if len(send.Missing) > 0 {
		return fail(ErrNotRendered, "field %s missing for profile %d", strings.Join(send.Missing, ", "), send.ProfileID)
	}
	m := send.msg
	m.To, m.Test = opts.To, true
	m.IdempotencyKey = "test-send-" + randomHex()
	res := ch.Send(ctx, []channels.Message{m})
	out := TestSent{Journey: spec.Name, Step: st.ID, Channel: st.Channel, ProfileID: m.ProfileID}
	status := "no result"
	if len(res) == 1 {
		status, out.ProviderMessageID = res[0].Status.String(), res[0].ProviderMessageID
	}
	if err := r.store.RecordAudit(ctx, opts.Actor, AuditTestSend, fmt.Sprintf("profile:%d", m.ProfileID), map[string]any{
		"journey": spec.Name, "version": version, "step": st.ID, "channel": st.Channel,
		"seed": r.store.KeyedValueHash("seed", opts.To), "status": status}); err != nil {
		return out, err
	}
	if len(res) != 1 || res[0].Status != channels.StatusDelivered {
		detail := status
		if len(res) == 1 {
			detail = strings.TrimSpace(status + " " + res[0].Reason)
			if res[0].Err != nil {
				detail += ": " + res[0].Err.Error()
			}
		}
		return out, &TestSendError{Journey: spec.Name, Step: st.ID, Err: ErrNotDelivered, Detail: detail}
	}
	return out, nil
}

// testSendStep is the named send step, or the first one.
func testSendStep(spec *Spec, id string) (*Step, error) {
	for i := range spec.Steps {
		st := &spec.Steps[i]
		if st.Kind == StepSend && (id == "" || st.ID == id) {
			return st, nil
		}
	}
	if id == "" {
		return nil, &TestSendError{Journey: spec.Name, Err: ErrNoSendStep, Detail: "the journey has no send step"}
	}
	var ids []string
	for _, st := range spec.Steps {
		if st.Kind == StepSend {
			ids = append(ids, st.ID)
		}
	}
	return nil, &TestSendError{Journey: spec.Name, Step: id, Err: ErrNoSendStep, Detail: "send steps: " + strings.Join(ids, ", ")}
}

// randomHex is 16 random hex digits: a test send's own idempotency key,
// never equal to a journey send's.
func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SeedGate is the gate for the adapters of a test send: it refuses a
// suppressed seed address right before the provider call. The person's
// consent does not govern it: the message never reaches them.
func (r *Runner) SeedGate() channels.Gate {
	return channels.GateFunc(func(ctx context.Context, channel string, m channels.Message) (string, error) {
		suppressed, _, err := r.store.Suppressed(ctx, eligibility.AddressKind(channel), m.To)
		if err != nil || !suppressed {
			return "", err
		}
		return eligibility.Suppressed, nil
	})
}
