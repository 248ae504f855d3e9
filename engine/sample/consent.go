package sample

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

const (
	granted   = "granted"
	denied    = "denied"
	withdrawn = "withdrawn"
)

// centry is one consent ledger line of the person being generated.
type centry struct {
	ts      int64
	purpose string
	channel string
	status  string
	version string
	source  string
	expires int64 // 0: never
	byEmail bool  // keyed by e-mail rather than user_id
	tie     bool  // part of a deliberate same-instant pair
}

// mktVersion is the marketing notice in force at t.
func (g *generator) mktVersion(t int64) string {
	switch {
	case t >= g.jun2026:
		return "2026-06"
	case t >= g.jan2025:
		return "2025-01"
	}
	return "" // legacy consent collected before versioned notices
}

// persVersion is the personalisation notice in force at t.
func (g *generator) persVersion(t int64) string {
	if t >= g.mar2026 {
		return "v2"
	}
	return "v1"
}

// genConsents builds the person's consent history into g.entries, sorted by
// time. pushTime is when a push token was registered (-1: none).
func (g *generator) genConsents(p *person, a *rand.Rand, pushTime int64, emailKeyed, tie bool) {
	e := g.entries[:0]
	end := g.now - hour // every entry strictly before this
	s := p.signup
	src0 := "signup_form"
	if s < g.jan2025 {
		src0 = "import" // migrated from the legacy CRM
	}
	between := func(lo, hi int64) (int64, bool) {
		if lo >= hi {
			return 0, false
		}
		return lo + a.Int64N(hi-lo), true
	}
	mkt := func(t int64, channel, status, source string) centry {
		ce := centry{ts: t, purpose: "marketing", channel: channel, status: status, source: source}
		if status != withdrawn {
			ce.version = g.mktVersion(t)
		}
		ce.byEmail = emailKeyed && channel == "email"
		return ce
	}

	// marketing/email: sign-up choice, then withdrawals and re-grants.
	cur := denied
	if a.Float64() < 0.76 {
		cur = granted
	}
	first := mkt(s, "email", cur, src0)
	if cur == granted && a.Float64() < 0.08 {
		first.expires = s + 365*day // a one-year promotional opt-in
	}
	e = append(e, first)
	last, lastVer := s, first.version
	for range 3 {
		chance := 0.3
		switch cur {
		case granted:
			chance = 0.12
		case withdrawn:
			chance = 0.35
		}
		if a.Float64() >= chance {
			break
		}
		t, ok := between(last+day, end)
		if !ok {
			break
		}
		if cur == granted {
			src := "preference_centre"
			if a.Float64() < 0.3 {
				src = "import" // unsubscribe link, synced from the e-mail platform
			}
			e = append(e, mkt(t, "email", withdrawn, src))
			cur = withdrawn
		} else {
			src := "preference_centre"
			if a.Float64() < 0.5 {
				src = "pos"
			}
			ce := mkt(t, "email", granted, src)
			e = append(e, ce)
			cur, lastVer = granted, ce.version
		}
		last = t
	}
	// Re-consent to the 2026-06 marketing notice.
	if cur == granted && lastVer != "2026-06" && end > g.jun2026 && a.Float64() < 0.45 {
		if t, ok := between(max(g.jun2026, last+day), end); ok {
			e = append(e, mkt(t, "email", granted, "preference_centre"))
			last = t
		}
	}
	// marketing/* from the preference centre: "all channels" on or off.
	lastMkt := last
	if a.Float64() < 0.06 {
		if t, ok := between(s+day, end); ok {
			e = append(e, mkt(t, "*", granted, "preference_centre"))
			lastMkt = max(lastMkt, t)
			if a.Float64() < 0.25 {
				if t2, ok := between(t+day, end); ok {
					e = append(e, mkt(t2, "*", withdrawn, "preference_centre"))
					lastMkt = max(lastMkt, t2)
				}
			}
		}
	} else if a.Float64() < 0.012 {
		if t, ok := between(s+day, end); ok {
			e = append(e, mkt(t, "*", withdrawn, "preference_centre"))
			lastMkt = max(lastMkt, t)
		}
	}
	// A double submission: withdrawal and grant at the same instant, the
	// grant written last. Ties go to the withdrawal.
	if tie {
		t, _ := between(lastMkt+1, end)
		w, gr := mkt(t, "email", withdrawn, "preference_centre"), mkt(t, "email", granted, "preference_centre")
		w.tie, gr.tie = true, true
		e = append(e, w, gr)
	}

	// analytics/*: the cookie banner; consent lasts 13 months, some renew.
	st := denied
	if a.Float64() < 0.72 {
		st = granted
	}
	ce := centry{ts: s, purpose: "analytics", channel: "*", status: st, source: src0}
	if st == granted && a.Float64() < 0.6 {
		ce.expires = s + 395*day
	}
	e = append(e, ce)
	for ce.expires != 0 && ce.expires < end && a.Float64() < 0.5 {
		t, ok := between(ce.expires, min(ce.expires+60*day, end))
		if !ok {
			break
		}
		ce = centry{ts: t, purpose: "analytics", channel: "*", status: granted, source: "preference_centre",
			expires: t + 395*day}
		e = append(e, ce)
	}

	// personalisation/*: notice v1, then v2 from March 2026.
	st = denied
	if a.Float64() < 0.6 {
		st = granted
	}
	ce = centry{ts: s, purpose: "personalisation", channel: "*", status: st, version: g.persVersion(s), source: src0}
	e = append(e, ce)
	last = s
	if st == granted && ce.version == "v1" && end > g.mar2026 && a.Float64() < 0.35 {
		if t, ok := between(max(g.mar2026, s+day), end); ok {
			e = append(e, centry{ts: t, purpose: "personalisation", channel: "*", status: granted,
				version: "v2", source: "preference_centre"})
			last = t
		}
	}
	if a.Float64() < 0.05 {
		if t, ok := between(last+day, end); ok {
			e = append(e, centry{ts: t, purpose: "personalisation", channel: "*", status: withdrawn,
				source: "preference_centre"})
		}
	}

	// transactional/email: order and account e-mails.
	if a.Float64() < 0.5 {
		e = append(e, centry{ts: s, purpose: "transactional", channel: "email", status: granted, source: src0,
			byEmail: emailKeyed})
	}

	// marketing/sms: at sign-up, or a six-month opt-in at the till; STOP later.
	if p.phoneE164 != "" {
		u := a.Float64()
		var t int64
		ok := false
		switch {
		case u < 0.35:
			t, ok = s, true
			e = append(e, mkt(t, "sms", granted, src0))
		case u < 0.45:
			if t, ok = between(s+day, end); ok {
				ce := mkt(t, "sms", granted, "pos")
				ce.expires = t + 182*day
				e = append(e, ce)
			}
		}
		if ok && a.Float64() < 0.15 {
			if t2, ok := between(t+day, end); ok {
				e = append(e, mkt(t2, "sms", withdrawn, "import"))
			}
		}
	}

	// marketing/push: asked when the app registers its push token.
	if pushTime >= 0 {
		st := denied
		if a.Float64() < 0.55 {
			st = granted
		}
		e = append(e, mkt(pushTime, "push", st, "signup_form"))
		if st == granted && a.Float64() < 0.1 {
			if t, ok := between(pushTime+day, end); ok {
				e = append(e, mkt(t, "push", withdrawn, "preference_centre"))
			}
		}
	}

	// marketing/line: asked when they follow the LINE account, some time
	// after sign-up; drawn from the index alone (not from a), so the other
	// entries stay as they were.
	if p.line != "" {
		if t, ok := lineConsentAt(s, end, g.unit(p.idx, saltLINEConsent)); ok {
			st := denied
			if g.unit(p.idx+g.n, saltLINEConsent) < 0.7 {
				st = granted
			}
			e = append(e, mkt(t, "line", st, "line_follow"))
		}
	}

	// Entries that can decide the same (purpose, channel) question never
	// share an instant, except the deliberate tie; several purposes given on
	// one form do.
	for moved := true; moved; {
		moved = false
		slices.SortStableFunc(e, func(x, y centry) int { return cmp.Compare(x.ts, y.ts) })
		for j := 1; j < len(e); j++ {
			for k := j - 1; k >= 0 && e[k].ts == e[j].ts; k-- {
				if overlaps(&e[k], &e[j]) && !(e[k].tie && e[j].tie) {
					e[j].ts++
					moved = true
					break
				}
			}
		}
	}
	for j := 1; j < len(e); j++ {
		if e[j].tie && e[j-1].tie {
			g.cases.Counts.ConsentTies++
			if len(g.cases.ConsentTies) < MaxCaseExamples {
				g.cases.ConsentTies = append(g.cases.ConsentTies, ConsentTie{
					UserID: p.userID, Purpose: "marketing", Channel: "email",
					Timestamp: string(appendTime(nil, e[j].ts))})
			}
		}
	}
	g.entries = e

	if p.line != "" {
		g.cases.Counts.LINEUsers++
		if ok, _ := evaluate(e, "marketing", "line", g.now); ok {
			g.cases.Counts.MarketingLINEGranted++
		}
	}
	if ok, dec := evaluate(e, "marketing", "email", g.now); ok {
		g.cases.Counts.MarketingEmailGranted++
		if dec.version == "2026-06" {
			g.cases.Counts.MarketingEmailGranted2026++
		}
	}
}

// lineConsentAt is when a LINE follower answered: u of the way from
// sign-up to end.
func lineConsentAt(signup, end int64, u float64) (int64, bool) {
	if signup >= end {
		return 0, false
	}
	return signup + int64(u*float64(end-signup)), true
}

// overlaps reports whether one (purpose, channel) query can match both entries.
func overlaps(x, y *centry) bool {
	return (x.purpose == y.purpose || x.purpose == "*" || y.purpose == "*") &&
		(x.channel == y.channel || x.channel == "*" || y.channel == "*")
}

// evaluate is the consent rule of docs/consent.md without notice-version configuration: the latest
// entry effective at `at` matching (purpose or *, channel or *) decides; a
// tie goes to withdrawn/denied; an expired grant is not granted.
func evaluate(es []centry, purpose, channel string, at int64) (bool, *centry) {
	var dec *centry
	deny := false
	for i := range es {
		e := &es[i]
		if e.ts > at || (e.purpose != purpose && e.purpose != "*") || (e.channel != channel && e.channel != "*") {
			continue
		}
		switch {
		case dec == nil || e.ts > dec.ts:
			dec, deny = e, e.status != granted
		case e.ts == dec.ts && e.status != granted:
			deny = true
		}
	}
	if dec == nil || deny || (dec.expires != 0 && at >= dec.expires) {
		return false, dec
	}
	return true, dec
}

func (g *generator) writeConsents(p *person, email string) {
	for j := range g.entries {
		e := &g.entries[j]
		b := g.buf[:0]
		if e.byEmail {
			b = append(b, ',')
			b = appendCSV(b, email)
		} else {
			b = append(b, p.userID...)
			b = append(b, ',')
		}
		b = append(b, ',')
		b = append(b, e.purpose...)
		b = append(b, ',')
		b = append(b, e.channel...)
		b = append(b, ',')
		b = append(b, e.status...)
		b = append(b, ',')
		b = appendTime(b, e.ts)
		b = append(b, ',')
		b = append(b, e.version...)
		b = append(b, ',')
		b = append(b, e.source...)
		b = append(b, ',')
		if e.expires != 0 {
			b = appendTime(b, e.expires)
		}
		b = append(b, '\n')
		g.out[outConsents].row(b)
		g.buf = b
	}
}
