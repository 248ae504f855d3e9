package sms

import (
	"context"
	"encoding/xml"
	"errors"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/tactcdp/tact/channels"
)

// Action is what an inbound message asks for.
type Action string

// Keyword actions.
const (
	ActionNone   Action = ""
	ActionOptOut Action = "opt_out"
	ActionOptIn  Action = "opt_in"
	ActionHelp   Action = "help"
)

// Keyword lists (CTIA / Twilio Advanced Opt-Out defaults).
var (
	StopWords  = []string{"STOP", "STOPALL", "END", "CANCEL", "UNSUBSCRIBE", "QUIT", "REVOKE", "OPT OUT", "OPTOUT"} //nolint:gochecknoglobals // read-only after initialisation
	StartWords = []string{"START", "UNSTOP", "YES"}                                                                 //nolint:gochecknoglobals // read-only after initialisation
	HelpWords  = []string{"HELP", "INFO"}                                                                           //nolint:gochecknoglobals // read-only after initialisation
)

// InboundConfig configures inbound keyword handling.
type InboundConfig struct {
	// HelpText answers HELP/INFO (required: carriers demand a help reply,
	// e.g. "Tact Coffee: offers by SMS, up to 4 msgs/month. Reply STOP to
	// cancel. Help: support@example.com").
	HelpText string
	// StopText confirms an opt-out, sent once: only when the recorder
	// reports a change. Empty sends no confirmation (use it when the
	// provider sends its own, as Twilio Advanced Opt-Out does).
	StopText string
	// StartText confirms an opt-in, sent only when the state changed.
	StartText string
	// ExtraStopWords, ExtraStartWords and ExtraHelpWords add local keywords
	// (e.g. Thai "ยกเลิก"); matching is case- and space-insensitive.
	ExtraStopWords, ExtraStartWords, ExtraHelpWords []string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Inbound is one message received from a person.
type Inbound struct {
	// From is the person's number (E.164), To our number or sender.
	From, To string
	Body     string
	// MessageSID is the provider's id of the inbound message.
	MessageSID string
}

// Reply is the outcome of HandleInbound.
type Reply struct {
	Action  Action
	Keyword string // the normalised keyword matched ("" for none)
	// Changed reports whether the consent state changed.
	Changed bool
	// Text is the reply to send ("" = send nothing).
	Text string
}

// normalizeKeyword upper-cases body, trims it, collapses inner whitespace
// and drops trailing punctuation ("  stop. " → "STOP", "opt   out" → "OPT OUT").
func normalizeKeyword(body string) string {
	f := strings.Fields(strings.ToUpper(body))
	s := strings.Join(f, " ")
	return strings.TrimRightFunc(s, func(r rune) bool { return unicode.IsPunct(r) })
}

func matchAny(kw string, words ...[]string) bool {
	for _, list := range words {
		for _, w := range list {
			if kw == normalizeKeyword(w) {
				return true
			}
		}
	}
	return false
}

// ParseKeyword classifies an inbound body. The whole message must be the
// keyword (as carriers and Twilio do): "STOP" opts out, "please stop
// texting" does not.
func ParseKeyword(body string, cfg InboundConfig) (Action, string) {
	kw := normalizeKeyword(body)
	switch {
	case kw == "":
		return ActionNone, ""
	case matchAny(kw, StopWords, cfg.ExtraStopWords):
		return ActionOptOut, kw
	case matchAny(kw, StartWords, cfg.ExtraStartWords):
		return ActionOptIn, kw
	case matchAny(kw, HelpWords, cfg.ExtraHelpWords):
		return ActionHelp, kw
	}
	return ActionNone, ""
}

// SourcePrefix starts the ledger source of every keyword change recorded by
// HandleInbound ("sms_inbound:stop", "sms_inbound:start").
const SourcePrefix = "sms_inbound:"

// StopRestorer is a ConsentRecorder that can undo a STOP exactly: it
// re-grants only the purposes a STOP-family keyword withdrew from a person
// who had granted them, never a grant the person did not give. When the
// recorder given to HandleInbound implements it, START uses it instead of
// Grant.
type StopRestorer interface {
	RestoreStopped(ctx context.Context, c channels.ConsentChange) (changed bool, err error)
}

// HandleInbound applies an inbound message: a STOP-family keyword records a
// withdrawal of every marketing purpose on sms for the sender's number
// (Purposes nil, Sender = in.To), a START-family keyword re-grants them, and
// HELP/INFO return the help text. A confirmation is returned only when the
// recorder reports that the state changed, so repeated STOPs are confirmed
// once. Other messages return ActionNone and no reply.
func HandleInbound(ctx context.Context, rec channels.ConsentRecorder, cfg InboundConfig, in Inbound) (Reply, error) {
	action, kw := ParseKeyword(in.Body, cfg)
	reply := Reply{Action: action, Keyword: kw}
	if action == ActionNone {
		return reply, nil
	}
	if action == ActionHelp {
		reply.Text = cfg.HelpText
		return reply, nil
	}
	from, err := channels.NormalizeE164(in.From)
	if err != nil {
		return reply, err
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	change := channels.ConsentChange{
		Channel: channels.SMS, Address: from, Sender: in.To, At: now(),
		Source: SourcePrefix + strings.ReplaceAll(kw, " ", "_"),
	}
	if rec == nil {
		return reply, errors.New("sms: no consent recorder")
	}
	if action == ActionOptOut {
		reply.Changed, err = rec.Withdraw(ctx, change)
		if err == nil && reply.Changed {
			reply.Text = cfg.StopText
		}
	} else if r, ok := rec.(StopRestorer); ok {
		reply.Changed, err = r.RestoreStopped(ctx, change)
		if err == nil && reply.Changed {
			reply.Text = cfg.StartText
		}
	} else {
		reply.Changed, err = rec.Grant(ctx, change)
		if err == nil && reply.Changed {
			reply.Text = cfg.StartText
		}
	}
	return reply, err
}

// ParseInboundForm reads Twilio's inbound webhook form (From, To, Body,
// MessageSid).
func ParseInboundForm(form url.Values) (Inbound, error) {
	in := Inbound{From: form.Get("From"), To: form.Get("To"), Body: form.Get("Body"), MessageSID: form.Get("MessageSid")}
	if in.From == "" {
		return in, errors.New("sms: inbound message without From")
	}
	return in, nil
}

// TwiML renders the webhook response: a <Message> with text, or an empty
// <Response/> when text is "". Content-Type: text/xml.
func TwiML(text string) []byte {
	if text == "" {
		return []byte(xml.Header + "<Response></Response>")
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString("<Response><Message>")
	_ = xml.EscapeText(&b, []byte(text))
	b.WriteString("</Message></Response>")
	return []byte(b.String())
}

// TwiMLContentType is the Content-Type of TwiML responses.
const TwiMLContentType = "text/xml; charset=utf-8"
