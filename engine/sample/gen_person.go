package sample

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// atHour moves t to a local hour drawn from cum on the same local day, kept
// inside [lo, hi); offset is hours east of UTC.
func atHour(r *rand.Rand, t, lo, hi int64, offset int, cum []float64) int64 {
	off := int64(offset) * hour
	local := t + off
	d := local - ((local%day)+day)%day
	t2 := d + int64(pick(r, cum))*hour + r.Int64N(hour) - off
	if t2 >= hi {
		t2 -= day
	}
	if t2 < lo {
		t2 += day
	}
	if t2 < lo || t2 >= hi {
		return t
	}
	return t2
}

func (g *generator) person(i int) {
	p := &g.p
	g.genCore(p, i)
	g.writeCRM(p, p.email, p.plan, p.ltv, p.updated)
	vkind := g.variantKind(i)
	keyEmail := p.email
	if vkind == variantFiles {
		keyEmail = emailVariant(p.email, g.core)
	}
	if p.family == familyPartner {
		g.cases.Counts.SharedEmails++
		if len(g.cases.SharedEmails) < MaxCaseExamples {
			g.cases.SharedEmails = append(g.cases.SharedEmails, SharedEmail{
				Email: p.email, UserIDs: [2]string{g.head.userID, p.userID}})
		}
	}

	g.seed(g.actPCG, saltAct, i)
	a := g.act
	c := p.c
	w := math.Exp(0.8*a.NormFloat64()-0.32) * g.scale
	ws := max(g.yearAgo, p.signup)
	we := g.now - 30*60

	// Devices and identify calls.
	nAnon := 0
	if a.Float64() < 0.5 {
		nAnon = 1
		if a.Float64() < 0.3 {
			nAnon = 2
		}
	}
	for k := range nAnon {
		an := &g.anons[k]
		an.start = ws
		if k == 1 {
			an.start = ws + int64(0.6*a.Float64()*float64(we-ws))
		}
		u := a.Float64()
		an.idTime = an.start + int64(u*u*float64(we-an.start))
		an.id = g.anonID(4*i + k)
		an.device = ""
	}
	pushTime := int64(-1)
	if nAnon > 0 && a.Float64() < 0.4 {
		g.anons[nAnon-1].device = g.deviceToken(i)
		pushTime = g.anons[nAnon-1].idTime
	}
	g.tags = g.tags[:0]
	if a.Float64() >= 0.1 {
		nt := 1 + a.IntN(3)
		for len(g.tags) < nt {
			tg := g.t.tagList[a.IntN(len(g.t.tagList))]
			if !slices.Contains(g.tags, tg) {
				g.tags = append(g.tags, tg)
			}
		}
	}
	lang := c.lang
	if a.Float64() >= c.langP {
		lang = "en"
	}

	// In-store shopping: locals near a store, and some tourists in Thailand.
	storeOK := p.phoneE164 != ""
	tourist := false
	if storeOK && c.storeHome == nil {
		tourist = a.Float64() < 0.12
		storeOK = tourist
	}
	home := -1
	if storeOK {
		home = g.pickStore(a, c)
	}
	hot := c.code == "TH" && p.age >= 25 && (storeOK || nAnon > 0) && a.Float64() < 0.08

	// Consent history first: e-mail campaigns only reach people who had
	// consented when the campaign went out.
	g.genConsents(p, a, pushTime, g.emailKeyed(i), g.tie(i))
	g.writeConsents(p, keyEmail)

	for k := range nAnon {
		g.writeIdentify(p, &g.anons[k], lang)
	}
	if nAnon > 0 {
		g.cases.Counts.Identified++
		g.cases.Counts.AnonymousIDs += nAnon
		if nAnon == 2 {
			g.cases.Counts.TwoDevices++
		}
	}

	// Purchases in the last 30 days for frequent buyers.
	g.buys = g.buys[:0]
	hotWeb := 0
	hotLo := max(g.recent+day, ws)
	if hot {
		for range 2 + a.IntN(3) {
			t := hotLo + a.Int64N(g.now-hour-hotLo)
			if storeOK && (nAnon == 0 || a.Float64() < 0.5) {
				g.buys = append(g.buys, buy{t: t, hot: true})
			} else {
				hotWeb++
			}
		}
	}

	recent := 0
	for k := range nAnon {
		an := &g.anons[k]
		ss := g.sessions[:0]
		ss = append(ss, session{ms: an.idTime*1000 + a.Int64N(1000)})
		rate := 2.6 * w
		if k == 1 {
			rate *= 0.6
		}
		for range poisson(a, rate) {
			t := an.start + a.Int64N(we-an.start)
			t = atHour(a, t, an.start, we, p.zone.offset, g.t.hourCum)
			ss = append(ss, session{ms: t*1000 + a.Int64N(1000)})
		}
		if k == 0 {
			for range hotWeb {
				t := hotLo + a.Int64N(g.now-hour-hotLo)
				ss = append(ss, session{ms: t*1000 + a.Int64N(1000), kind: sessBuy})
			}
		}
		slices.SortStableFunc(ss, func(x, y session) int { return cmp.Compare(x.ms, y.ms) })
		g.lastMs = 0
		for _, s := range ss {
			recent += g.webSession(a, an.id, s, c)
		}
		g.sessions = ss
	}

	// Store purchases.
	if storeOK {
		bs := g.buys
		if tourist {
			// one trip to Thailand: a few purchases within a week
			trip := ws + a.Int64N(max(1, we-ws-7*day))
			for range 1 + a.IntN(3) {
				bs = append(bs, buy{t: min(we-1, trip+a.Int64N(7*day))})
			}
		} else {
			for range poisson(a, 1.8*w) {
				bs = append(bs, buy{t: ws + a.Int64N(we-ws)})
			}
		}
		for j := range bs {
			s := home
			if a.Float64() < 0.2 {
				s = g.pickStore(a, c)
			}
			t := atHour(a, bs[j].t, ws, we, g.t.stores[s].offset, g.t.storeHourCum)
			if bs[j].hot {
				// keep frequent buyers' purchases inside the last 30 days
				t = min(max(t, hotLo), g.now-hour)
			}
			bs[j].t, bs[j].store = g.awayFromBoundary(t), s
		}
		slices.SortStableFunc(bs, func(x, y buy) int { return cmp.Compare(x.t, y.t) })
		for _, b := range bs {
			if b.t > g.recent {
				recent++
			}
			g.storePurchase(a, p.phoneE164, b.t, b.store)
		}
		g.buys = bs
	}
	if c.code == "TH" && p.age >= 25 && recent >= 2 {
		g.cases.Counts.RecentTHBuyers++
	}

	// Marketing e-mail engagement (not for shared family addresses).
	mailed := 0
	if p.family == familyNone {
		mailed = g.emailEngagement(a, keyEmail, w, ws, we)
	}
	if vkind == variantFiles {
		files := []string{FileConsents}
		if mailed > 0 {
			files = []string{FileEmailEngagement, FileConsents}
		}
		g.cases.Counts.EmailVariants++
		if len(g.cases.EmailVariants) < MaxCaseExamples {
			g.cases.EmailVariants = append(g.cases.EmailVariants, EmailVariant{
				UserID: p.userID, Email: p.email, Variant: keyEmail, Files: files})
		}
	}

	// An anonymous visitor who never identifies.
	if a.Float64() < 0.1625 {
		id := g.anonID(4*i + 3)
		ss := g.sessions[:0]
		for range 1 + poisson(a, 0.8*w) {
			t := g.yearAgo + a.Int64N(we-g.yearAgo)
			t = atHour(a, t, g.yearAgo, we, p.zone.offset, g.t.hourCum)
			ss = append(ss, session{ms: t*1000 + a.Int64N(1000), kind: sessAnon})
		}
		slices.SortStableFunc(ss, func(x, y session) int { return cmp.Compare(x.ms, y.ms) })
		g.lastMs = 0
		for _, s := range ss {
			g.webSession(a, id, s, c)
		}
		g.sessions = ss
		g.cases.Counts.AnonymousIDs++
		g.cases.Counts.AnonymousOnly++
	}

	// A walk-in customer known only by phone at the till.
	if a.Float64() < 0.008 {
		g.walkIn(a, we)
	}

	// Retried deliveries: the same web event line again.
	for _, b := range g.pending {
		g.out[outWeb].row(b)
	}
	g.pending = g.pending[:0]
}
