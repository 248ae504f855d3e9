package journeys

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/eligibility"
	"github.com/tactcdp/tact/journeys/bridge"
)

// combo is one combination of the facts the eligibility decision reads.
type combo struct {
	restricted, objected bool
	consent              string // none, granted, withdrawn, expired
	address, suppressed  bool
	quiet, capped        bool
	transactional        bool
}

// want is the decision docs/consent.md gives for a combination, term by term in
// the documented order.
func (c combo) want() string {
	switch {
	case c.restricted:
		return eligibility.Restricted
	case !c.transactional && c.objected:
		return eligibility.Objected
	case !c.transactional && c.consent == "none":
		return eligibility.NoConsent
	case !c.transactional && c.consent == "withdrawn":
		return eligibility.Withdrawn
	case !c.transactional && c.consent == "expired":
		return eligibility.Expired
	case !c.address:
		return eligibility.Unreachable
	case c.suppressed:
		return eligibility.Suppressed
	case !c.transactional && c.quiet:
		return eligibility.QuietHours
	case !c.transactional && c.capped:
		return eligibility.FrequencyCap
	}
	return ""
}

func allCombos() []combo {
	var out []combo
	bools := []bool{false, true}
	for _, r := range bools {
		for _, o := range bools {
			for _, cs := range []string{"none", "granted", "withdrawn", "expired"} {
				for _, a := range bools {
					for _, s := range bools {
						if s && !a {
							continue // nothing to suppress
						}
						for _, q := range bools {
							for _, cp := range bools {
								for _, tx := range bools {
									out = append(out, combo{r, o, cs, a, s, q, cp, tx})
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

const comboMarketing = `
name: combo
purpose: marketing
entry: api
steps:
  - id: s
    send: {channel: sms, template: flash}
`

const comboTransactional = `
name: combo-tx
purpose: transactional
entry: api
steps:
  - id: s
    send: {channel: sms, template: flash}
`

// TestEligibilityCombinations enumerates restricted × objected × consent
// state × address × suppressed × inside quiet hours × cap reached ×
// transactional, and shows that the SQL form (the send step's decision),
// the per-person form (DecideOne) and the gate right before a provider
// call (for a retry: the gate, then the send policy again) return the same
// decision and the same reason, the one docs/consent.md's order gives.
func TestEligibilityCombinations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Policy.Caps = map[string]int{"sms": 1} })
	now := e.clk.Now() // 09:00 UTC; 22:00 in Auckland (quiet hours for sms)
	combos := allCombos()
	ps := make([]person, len(combos))
	for i, c := range combos {
		ps[i] = person{User: fmt.Sprintf("c%03d", i), TZ: "UTC"}
		if c.address {
			ps[i].Phone = fmt.Sprintf("+1415555%04d", i)
		}
		if c.quiet {
			ps[i].TZ = "Pacific/Auckland"
		}
	}
	ids := e.people(ps...)
	var ins []engine.ConsentInput
	for i, c := range combos {
		grant := engine.ConsentInput{ProfileID: ids[i], Purpose: "marketing", Channel: "sms", Status: consent.Granted,
			EffectiveAt: now.Add(-48 * time.Hour), Source: "test"}
		switch c.consent {
		case "granted":
			ins = append(ins, grant)
		case "withdrawn":
			w := grant
			w.Status, w.EffectiveAt = consent.Withdrawn, now.Add(-24*time.Hour)
			ins = append(ins, grant, w)
		case "expired":
			grant.ExpiresAt = now.Add(-time.Hour)
			ins = append(ins, grant)
		}
	}
	require.NoError(t, e.store.RecordConsents(e.ctx, ins))
	for i, c := range combos {
		if c.restricted {
			_, err := e.store.Restrict(e.ctx, ps[i].User, engine.PrivacyOptions{})
			require.NoError(t, err)
		}
		if c.objected {
			_, err := e.store.Object(e.ctx, ps[i].User, engine.PrivacyOptions{})
			require.NoError(t, err)
		}
		if c.suppressed {
			require.NoError(t, e.store.Suppress(e.ctx, engine.KindPhone, ps[i].Phone, engine.SuppressStop, "test"))
		}
	}
	mv := e.publish(comboMarketing)
	tv := e.publish(comboTransactional)
	// Everyone sits at the send step of both journeys; the capped already
	// had a marketing SMS today.
	_, err := e.store.DB().ExecContext(e.ctx, `INSERT INTO journey_instances
SELECT row_number() OVER (), j.name, j.v, p.id, 'active', 's', 0, ?::TIMESTAMP, NULL, ?::TIMESTAMP, ?::TIMESTAMP, NULL, NULL, NULL, NULL, NULL
FROM profiles p, (VALUES ('combo', ?::INTEGER), ('combo-tx', ?::INTEGER)) j(name, v)`, now, now, now, mv.Version, tv.Version)
	require.NoError(t, err)
	for i, c := range combos {
		if c.capped {
			_, err := e.store.DB().ExecContext(e.ctx, `INSERT INTO journey_outbox VALUES (?, ?, 0, 'other', 1, 'x', ?, 'sms', NULL, NULL, 'marketing', true, ?)`,
				-int64(i)-1, fmt.Sprintf("earlier-%d", i), ids[i], now.Add(-time.Hour))
			require.NoError(t, err)
		}
	}

	// The SQL form, as the send step decides.
	sqlReason := map[bool]map[int64]string{}
	for _, tx := range []bool{false, true} {
		name, version, purpose := "combo", mv.Version, "marketing"
		if tx {
			name, version, purpose = "combo-tx", tv.Version, consent.Transactional
		}
		spec, err := e.r.spec(e.ctx, name, version)
		require.NoError(t, err)
		rows, decisions, err := e.r.decideSends(e.ctx, spec, version, spec.Step("s"), eligibility.Request{Purpose: purpose, Channel: "sms", At: now})
		require.NoError(t, err)
		require.Len(t, rows, len(combos))
		sqlReason[tx] = map[int64]string{}
		for k, r := range rows {
			sqlReason[tx][r.PID] = decisions[k].Reason
		}
	}

	adapter := bridge.New(e.store)
	for i, c := range combos {
		purpose := "marketing"
		if c.transactional {
			purpose = consent.Transactional
		}
		req := eligibility.Request{Purpose: purpose, Channel: "sms", At: now}
		want := c.want()
		name := fmt.Sprintf("%+v", c)
		require.Equal(t, want, sqlReason[c.transactional][ids[i]], "SQL form, %s", name)

		one, err := e.r.DecideOne(e.ctx, req, ids[i])
		require.NoError(t, err)
		require.Equal(t, want, one.Reason, "per-person form, %s", name)

		// The gate right before a provider call decides the person-level
		// terms for the message's address; a retry then meets the send
		// policy again.
		m := channels.Message{ProfileID: ids[i], Purpose: purpose, Transactional: c.transactional, To: ps[i].Phone}
		gate, err := adapter.Check(e.ctx, "sms", m)
		require.NoError(t, err)
		got := gate
		if gate == "" && !c.transactional {
			got = eligibility.Decide(req, e.r.eligibilityPolicy(), ids[i], "", e.r.sending("sms", now, ps[i].TZ, ps[i].Phone, recentFor(t, e, ids[i]))).Reason
		}
		require.Equal(t, want, got, "gate, %s", name)
	}
}

func recentFor(t *testing.T, e *env, id int64) []time.Time {
	t.Helper()
	m, err := e.r.recentSends(e.ctx, "sms", e.clk.Now(), []int64{id}, nil)
	require.NoError(t, err)
	return m[id]
}
