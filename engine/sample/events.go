package sample

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

const shopURL = "https://www.tactshop.example"

// awayFromBoundary nudges t (seconds) off the Now-30d instant so that
// `.timestamp > ago("30d")` never depends on sub-second handling.
func (g *generator) awayFromBoundary(t int64) int64 {
	if t > g.recent-3 && t < g.recent+3 {
		return g.recent + 5
	}
	return t
}

func (g *generator) pickStore(a *rand.Rand, c *country) int {
	if len(c.storeHome) > 0 {
		return c.storeHome[a.IntN(len(c.storeHome))]
	}
	return g.t.thStores[pick(a, g.t.thStoreCum)]
}

func (g *generator) writeIdentify(p *person, an *anon, lang string) {
	b := g.buf[:0]
	b = append(b, '{')
	b = appendStrField(b, "anonymous_id", an.id)
	b = appendStrField(b, "user_id", p.userID)
	if an.device != "" {
		b = appendStrField(b, "device_token", an.device)
	}
	if len(g.tags) > 0 {
		b = appendKey(b, "tags")
		b = append(b, '[')
		for j, tg := range g.tags {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, tg)
		}
		b = append(b, ']')
	}
	b = appendStrField(b, "preferred_language", lang)
	b = appendKey(b, "updated_at")
	b = append(b, '"')
	b = appendTime(b, an.idTime)
	b = append(b, '"', '}', '\n')
	g.out[outIdentify].row(b)
	g.buf = b
}

// webEvent writes one web_events.jsonl line with g.props as properties.
func (g *generator) webEvent(id, event string, ms int64) {
	b := g.buf[:0]
	b = append(b, `{"anonymous_id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"event":"`...)
	b = append(b, event...)
	b = append(b, `","timestamp":"`...)
	b = appendTimeMilli(b, ms)
	b = append(b, `","properties":`...)
	b = append(b, g.props...)
	var idb [48]byte
	k := g.keys[saltWeb]
	msgID := appendUUIDish(append(idb[:0], "web-"...), mix64(k+g.webSeq), mix64(mix64(k^0x5851f42d4c957f2d)+g.webSeq))
	b = append(b, `,"message_id":"`...)
	b = append(b, msgID...)
	b = append(b, '"', '}', '\n')
	g.out[outWeb].row(b)
	g.cases.Counts.Events++
	if mix64(g.keys[saltDup]+g.webSeq)%700 == 0 {
		// delivered again at the end of this person's batch
		g.pending = append(g.pending, slices.Clone(b))
		g.cases.Counts.DuplicateMessageIDs++
		if len(g.cases.DuplicateMessageIDs) < MaxCaseExamples {
			g.cases.DuplicateMessageIDs = append(g.cases.DuplicateMessageIDs, string(msgID))
		}
	}
	g.webSeq++
	g.buf = b
}

func (g *generator) product(a *rand.Rand) *product {
	return &g.t.catalog[pick(a, g.t.catCum)]
}

// webSession writes one browsing session and returns how many purchases it
// made after Now-30d.
func (g *generator) webSession(a *rand.Rand, id string, s session, c *country) int {
	ms := s.ms
	if ms <= g.lastMs {
		ms = g.lastMs + 30_000 + a.Int64N(60_000) // sessions of one device never overlap
	}
	limit := g.nowMs - 1000
	if ms >= limit {
		return 0
	}
	defer func() { g.lastMs = min(ms, limit) }()
	next := func() bool {
		ms += 3000 + a.Int64N(90000)
		return ms < limit
	}
	t := g.t

	// landing page
	var path string
	switch u := a.IntN(20); {
	case u < 6:
		path = "/"
	case u < 9:
		path = "/sale"
	case u < 13:
		path = "/c/" + t.categories[a.IntN(len(t.categories))]
	case u < 18:
		path = "/p/" + g.product(a).slug
	case u < 19:
		path = "/search?q=" + t.categories[a.IntN(len(t.categories))]
	default:
		path = "/blog/" + t.blogSlugs[a.IntN(len(t.blogSlugs))]
	}
	ref := t.referrers[pick(a, t.refCum)]
	g.props = appendStrField(append(g.props[:0], '{'), "path", path)
	g.props = append(appendStrField(g.props, "referrer", ref), '}')
	g.webEvent(id, "page_viewed", ms)

	views := 0
	var cart, checkout, purchase bool
	if s.kind == sessBuy {
		views, cart, checkout, purchase = 1+a.IntN(2), true, true, true
	} else {
		for views < 6 && a.Float64() < 0.55 {
			views++
		}
		cart = views > 0 && a.Float64() < 0.3
		checkout = cart && a.Float64() < 0.5
		buyP := 0.6
		if s.kind == sessAnon {
			buyP = 0.1 // guest checkout
		}
		purchase = checkout && a.Float64() < buyP
	}
	var last *product
	for range views {
		if !next() {
			return 0
		}
		last = g.product(a)
		b := append(g.props[:0], '{')
		b = appendStrField(b, "sku", last.sku)
		b = appendNumField(b, "price", localPrice(c, last.price))
		b = appendStrField(b, "category", last.category)
		b = appendStrField(b, "currency", c.currency)
		g.props = append(b, '}')
		g.webEvent(id, "product_viewed", ms)
	}
	if !cart || !next() {
		return 0
	}
	qty := 1
	if a.Float64() < 0.2 {
		qty += 1 + a.IntN(2)
	}
	price := localPrice(c, last.price)
	b := append(g.props[:0], '{')
	b = appendStrField(b, "sku", last.sku)
	b = appendNumField(b, "price", price)
	b = appendIntField(b, "quantity", qty)
	b = appendStrField(b, "currency", c.currency)
	g.props = append(b, '}')
	g.webEvent(id, "added_to_cart", ms)

	if !checkout || !next() {
		return 0
	}
	value := round2(price * float64(qty))
	b = append(g.props[:0], '{')
	b = appendNumField(b, "cart_value", value)
	b = appendStrField(b, "currency", c.currency)
	b = appendIntField(b, "items", qty)
	g.props = append(b, '}')
	g.webEvent(id, "checkout_started", ms)

	if !purchase || !next() {
		return 0
	}
	if ms > g.recentMs-3000 && ms < g.recentMs+3000 {
		ms = g.recentMs + 5000
	}
	b = append(g.props[:0], '{')
	b = appendKey(b, "order_id")
	b = append(b, '"', 'o', '-')
	b = appendHex64(b, mix64(g.keys[saltOrder]+g.orderSeq))
	b = append(b, '"')
	g.orderSeq++
	b = appendNumField(b, "amount", value)
	b = appendStrField(b, "currency", c.currency)
	b = appendStrField(b, "sku", last.sku)
	b = appendIntField(b, "quantity", qty)
	b = appendStrField(b, "channel", "web")
	g.props = append(b, '}')
	g.webEvent(id, "purchase", ms)
	if s.kind != sessAnon && ms > g.recentMs {
		return 1
	}
	return 0
}

// storePurchase writes one till transaction; the timestamp carries the
// store's UTC offset, as point-of-sale exports do.
func (g *generator) storePurchase(a *rand.Rand, phone string, t int64, s int) {
	st := &g.t.stores[s]
	amount := 0.0
	var first *product
	items := 1
	if a.Float64() < 0.35 {
		items += a.IntN(3)
	}
	for range items {
		pr := g.product(a)
		if first == nil {
			first = pr
		}
		qty := 1.0
		if a.Float64() < 0.15 {
			qty = 2
		}
		amount += localPrice(st.c, pr.price) * qty
	}
	discount := [...]float64{0, 0, 0, 0, 0, 0, 0.05, 0.1, 0.15, 0.2}[a.IntN(10)]
	amount = round2(amount * (1 - discount))

	p := append(g.props[:0], '{')
	p = appendStrField(p, "store", st.id)
	p = appendNumField(p, "amount", amount)
	p = appendStrField(p, "currency", st.c.currency)
	p = appendStrField(p, "sku", first.sku)
	p = appendStrField(p, "channel", "store")
	p = append(p, '}')
	g.props = p

	b := append(g.buf[:0], phone...)
	b = append(b, ",purchase,"...)
	b = appendTimeIn(b, t, st.offset)
	b = append(b, ',')
	b = appendCSV(b, p)
	b = append(b, ",pos-"...)
	b = appendHex64(b, mix64(g.keys[saltPOS]+g.posSeq))
	b = append(b, '\n')
	g.posSeq++
	g.out[outStore].row(b)
	g.cases.Counts.Events++
	g.buf = b
}

func (g *generator) walkIn(a *rand.Rand, we int64) {
	k := g.walkIns
	g.walkIns++
	var s int
	if a.Float64() < 0.8 {
		s = g.t.thStores[pick(a, g.t.thStoreCum)]
	} else {
		s = g.t.otherStores[a.IntN(len(g.t.otherStores))]
	}
	pl := g.t.stores[s].c.phone
	phone := "+" + pl.cc + g.phone(pl, g.n+k)
	bs := g.buys[:0]
	for range 1 + a.IntN(3) {
		t := g.yearAgo + a.Int64N(we-g.yearAgo)
		t = atHour(a, t, g.yearAgo, we, g.t.stores[s].offset, g.t.storeHourCum)
		bs = append(bs, buy{t: g.awayFromBoundary(t), store: s})
	}
	slices.SortStableFunc(bs, func(x, y buy) int { return cmp.Compare(x.t, y.t) })
	for _, b := range bs {
		g.storePurchase(a, phone, b.t, b.store)
	}
	g.buys = bs
	g.cases.Counts.WalkInPhones++
	if len(g.cases.WalkInPhones) < MaxCaseExamples {
		g.cases.WalkInPhones = append(g.cases.WalkInPhones, phone)
	}
}

// emailEngagement writes opens and clicks of the campaigns sent while the
// person's marketing/email consent was granted, and returns how many.
func (g *generator) emailEngagement(a *rand.Rand, email string, w float64, ws, we int64) int {
	ms := g.mails[:0]
	openP := min(0.85, 0.10*w)
	nCat := len(g.t.catalog)
	for ci := range g.campaigns {
		cp := &g.campaigns[ci]
		if cp.send < ws || cp.send >= we {
			continue
		}
		if a.Float64() >= openP {
			continue
		}
		if ok, _ := evaluate(g.entries, "marketing", "email", cp.send); !ok {
			continue // never sent
		}
		t := cp.send + 60 + int64(a.ExpFloat64()*6*float64(hour))
		if t >= we {
			continue
		}
		ms = append(ms, mail{t: t, campaign: ci})
		if a.Float64() < 0.25 {
			link := -1
			switch a.IntN(3) {
			case 1:
				link = pick(a, g.t.catCum)
			case 2:
				link = nCat + a.IntN(len(g.t.categories))
			}
			if tc := t + 5 + a.Int64N(600); tc < we {
				ms = append(ms, mail{t: tc, clicked: true, campaign: ci, link: link})
			}
		}
	}
	slices.SortStableFunc(ms, func(x, y mail) int { return cmp.Compare(x.t, y.t) })
	for _, m := range ms {
		cp := &g.campaigns[m.campaign]
		p := append(g.props[:0], '{')
		p = appendStrField(p, "campaign", cp.name)
		event := "email_opened"
		if m.clicked {
			event = "email_clicked"
			p = appendKey(p, "link")
			p = append(p, '"')
			p = append(p, shopURL...)
			switch {
			case m.link < 0:
				p = append(p, cp.path...)
			case m.link < nCat:
				p = append(p, "/p/"...)
				p = append(p, g.t.catalog[m.link].slug...)
			default:
				p = append(p, "/c/"...)
				p = append(p, g.t.categories[m.link-nCat]...)
			}
			p = append(p, "?utm_source=email&utm_medium=email&utm_campaign="...)
			p = append(p, cp.name...)
			p = append(p, '"')
		}
		p = append(p, '}')
		g.props = p

		b := appendCSV(g.buf[:0], email)
		b = append(b, ',')
		b = append(b, event...)
		b = append(b, ',')
		b = appendTime(b, m.t)
		b = append(b, ',')
		b = appendCSV(b, p)
		b = append(b, ",esp-"...)
		b = appendHex64(b, mix64(g.keys[saltESP]+g.espSeq))
		b = append(b, '\n')
		g.espSeq++
		g.out[outEmail].row(b)
		g.cases.Counts.Events++
		g.buf = b
	}
	g.mails = ms
	return len(ms)
}
