package consent_test

import (
	"fmt"
	"time"

	"github.com/tactcdp/tact/engine/consent"
)

func ExampleEvaluate() {
	policy, _ := consent.NewPolicy([]consent.Purpose{
		{Name: "personalisation", Versions: []consent.NoticeVersion{{Version: "v1"}, {Version: "v2", RequiresReconsent: true}}},
	})
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return at.AddDate(0, 0, -d) }
	ledger := []consent.Entry{
		{Seq: 1, Purpose: "marketing", Channel: "*", Status: consent.Granted, EffectiveAt: day(90)},
		{Seq: 2, Purpose: "marketing", Channel: "sms", Status: consent.Withdrawn, EffectiveAt: day(10)},
		{Seq: 3, Purpose: "personalisation", Channel: "email", Status: consent.Granted, EffectiveAt: day(30), NoticeVersion: "v1"},
		{Seq: 4, Purpose: "analytics", Channel: "email", Status: consent.Granted, EffectiveAt: day(30), ExpiresAt: day(1)},
	}
	for _, q := range [][2]string{{"marketing", "email"}, {"marketing", "sms"}, {"personalisation", "email"}, {"analytics", "email"}, {"marketing", "fax"}} {
		d := consent.Evaluate(policy, ledger, q[0], q[1], at)
		fmt.Printf("%s/%s: %v (%s)\n", q[0], q[1], d.Granted, d.Reason)
	}
	// Output:
	// marketing/email: true (granted)
	// marketing/sms: false (withdrawn)
	// personalisation/email: false (reconsent_required)
	// analytics/email: false (expired)
	// marketing/fax: false (unknown_channel)
}
