package eligibility_test

import (
	"fmt"
	"time"

	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/eligibility"
)

// ExampleDecide: the person-level terms first, then the send policy, in
// one order; transactional messages skip consent and the policy, never a
// suppression.
func ExampleDecide() {
	at := time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
	marketing := eligibility.Request{Purpose: "marketing", Channel: "sms", At: at}
	receipt := eligibility.Request{Purpose: consent.Transactional, Channel: "sms", At: at}
	withdrawn := eligibility.Facts{Consent: consent.ReasonWithdrawn, Address: "+66811111111"}
	stopped := eligibility.Facts{Consent: consent.ReasonGranted, Address: "+66811111111", Suppressed: true}
	quiet := eligibility.Sending{HeldUntil: at.Add(10 * time.Hour)}
	pol := eligibility.Policy{}

	show := func(r eligibility.Request, f eligibility.Facts, s eligibility.Sending) {
		d := eligibility.Decide(r, pol, 42, eligibility.Person(r, f), s)
		fmt.Printf("%s: %q allowed=%t\n", r.Purpose, d.Reason, d.Allowed())
	}
	show(marketing, withdrawn, quiet)
	show(receipt, withdrawn, quiet)
	show(marketing, eligibility.Facts{Consent: consent.ReasonGranted, Address: "+66811111111"}, quiet)
	show(receipt, stopped, eligibility.Sending{})
	// Output:
	// marketing: "withdrawn" allowed=false
	// transactional: "" allowed=true
	// marketing: "quiet_hours" allowed=false
	// transactional: "suppressed" allowed=false
}
