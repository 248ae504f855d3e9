package sample

import (
	"cmp"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

const (
	day  = int64(86400)
	hour = int64(3600)
)

// salts separate the independent pseudo-random decisions derived from the
// seed, so that each can be recomputed for any person in isolation.
const (
	saltCore = iota + 1
	saltAct
	saltFamily
	saltTie
	saltVariant
	saltVariantKind
	saltEmailKey
	saltAnon
	saltDevice
	saltWeb
	saltPOS
	saltESP
	saltDup
	saltPhone
	saltOrder
	saltLINE        // whether a customer follows the LINE account
	saltLINEConsent // their LINE marketing answer and its time
	saltLINEID      // their LINE user id
	numSalts
)

const (
	familyNone = iota
	familyHead
	familyPartner
)

const (
	variantNone  = iota
	variantCRM   // a later crm_profiles.csv row for the same user_id
	variantFiles // e-mail keyed rows in email_engagement.csv and consents.csv
)

type person struct {
	idx, num   int // 0-based index, 1-based customer number
	userID     string
	email      string
	phoneCRM   string // as written in the CRM ("" when absent)
	phoneE164  string
	first      string
	last       string
	firstIdx   int
	lastIdx    int
	script     bool
	c          *country
	zone       *zone
	tz         string // "" when missing from the CRM
	age        int    // 0 when missing
	plan       string
	ltv        float64
	signup     int64
	updated    int64
	vip        bool
	family     int
	domain     string
	emailStyle int
	line       string // LINE user id ("" when they do not follow the account)
}

type anon struct {
	id     string
	start  int64
	idTime int64
	device string
}

type session struct {
	ms   int64
	kind int
}

const (
	sessBrowse = iota
	sessBuy    // ends in a purchase (recent purchases of frequent buyers)
	sessAnon   // a visitor who never identifies
)

type buy struct {
	t     int64
	store int
	hot   bool
}

type mail struct {
	t        int64
	clicked  bool
	campaign int
	link     int
}

type campaign struct {
	name string
	send int64
	path string
}

type generator struct {
	o     Options
	t     *tables
	out   []*output
	n     int
	scale float64

	now, nowMs      int64
	yearAgo, recent int64 // Now-365d, Now-30d (seconds)
	recentMs        int64
	jan2025         int64
	mar2026         int64
	jun2026         int64
	idWidth         int
	keys            [numSalts]uint64
	campaigns       []campaign

	corePCG *rand.PCG
	core    *rand.Rand
	actPCG  *rand.PCG
	act     *rand.Rand

	// scratch, reused for every person
	p, head  person
	anons    [2]anon
	entries  []centry
	sessions []session
	buys     []buy
	mails    []mail
	pending  [][]byte
	buf      []byte
	props    []byte
	tags     []string

	lastMs                           int64 // end of the previous session of the current device
	webSeq, posSeq, espSeq, orderSeq uint64
	walkIns                          int
	cases                            Cases
}

func newGenerator(o Options, outs []*output) *generator {
	g := &generator{o: o, t: newTables(), out: outs, n: o.Profiles}
	g.scale = float64(o.EventsPerProfile) / DefaultEventsPerProfile
	g.now = o.Now.Unix()
	g.nowMs = g.now * 1000
	g.yearAgo = g.now - 365*day
	g.recent = g.now - 30*day
	g.recentMs = g.recent * 1000
	g.jan2025 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	g.mar2026 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Unix()
	g.jun2026 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).Unix()
	g.idWidth = max(6, len(strconv.Itoa(g.n)))
	for s := range g.keys {
		g.keys[s] = mix64(o.Seed*0x9e3779b97f4a7c15 ^ mix64(uint64(s)*0xd1b54a32d192ed03))
	}
	g.corePCG = rand.NewPCG(0, 0)
	g.core = rand.New(g.corePCG)
	g.actPCG = rand.NewPCG(0, 0)
	g.act = rand.New(g.actPCG)
	g.campaigns = makeCampaigns(o.Now)
	return g
}

// makeCampaigns lays out the marketing e-mail calendar of the year before
// now: a monthly newsletter, a payday sale and a "double day" mega sale
// (11.11, 12.12, ...).
func makeCampaigns(now time.Time) []campaign {
	var cs []campaign
	lo, hi := now.Add(-365*24*time.Hour), now.Add(-time.Hour)
	for k := 13; k >= 0; k-- {
		m := time.Date(now.Year(), now.Month()-time.Month(k), 1, 0, 0, 0, 0, time.UTC)
		y, mo := m.Year(), int(m.Month())
		ym := strconv.Itoa(y) + "-" + pad(mo, 2)
		for _, c := range []struct {
			name string
			at   time.Time
			path string
		}{
			{"newsletter-" + ym, time.Date(y, m.Month(), 5, 3, 0, 0, 0, time.UTC), "/new-arrivals"},
			{"mega-sale-" + strconv.Itoa(mo) + "-" + strconv.Itoa(mo) + "-" + strconv.Itoa(y),
				time.Date(y, m.Month(), mo, 2, 0, 0, 0, time.UTC), "/sale"},
			{"payday-sale-" + ym, time.Date(y, m.Month(), 25, 5, 0, 0, 0, time.UTC), "/sale/payday"},
		} {
			if !c.at.Before(lo) && c.at.Before(hi) {
				cs = append(cs, campaign{name: c.name, send: c.at.Unix(), path: c.path})
			}
		}
	}
	slices.SortStableFunc(cs, func(a, b campaign) int { return cmp.Compare(a.send, b.send) })
	return cs
}

// unit is a uniform number in [0,1) fixed by (seed, salt, i).
func (g *generator) unit(i int, salt int) float64 {
	return float64(mix64(g.keys[salt]+uint64(i))>>11) / (1 << 53)
}

func (g *generator) seed(pcg *rand.PCG, salt, i int) {
	k := g.keys[salt]
	pcg.Seed(mix64(k+uint64(i)), mix64(k^(uint64(i)*0x9e3779b97f4a7c15+0x632be59bd9b4e019)))
}

// Deliberate edge cases are chosen from the person index alone, so any
// person's role can be recomputed anywhere. A few positions are always
// chosen so that even small data sets contain every case.

func (g *generator) familyHead(i int) bool {
	if i%2 != 0 || i+1 >= g.n {
		return false
	}
	for k := 1; k <= 3; k++ {
		if (g.n*k/4)&^1 == i {
			return true
		}
	}
	return g.unit(i, saltFamily) < 0.004
}

func (g *generator) familyRole(i int) int {
	switch {
	case g.familyHead(i):
		return familyHead
	case i > 0 && g.familyHead(i-1):
		return familyPartner
	}
	return familyNone
}

func (g *generator) tie(i int) bool {
	if g.familyRole(i) != familyNone {
		return false
	}
	for k := 1; k <= 3; k++ {
		j := g.n*k/5 + 1
		for j < g.n && g.familyRole(j) != familyNone {
			j++
		}
		if j == i {
			return true
		}
	}
	return g.unit(i, saltTie) < 0.004
}

func (g *generator) variantKind(i int) int {
	if g.familyRole(i) != familyNone || g.tie(i) || g.unit(i, saltVariant) >= 0.012 {
		return variantNone
	}
	if g.unit(i, saltVariantKind) < 0.5 {
		return variantCRM
	}
	return variantFiles
}

func (g *generator) emailKeyed(i int) bool {
	if g.familyRole(i) != familyNone || g.tie(i) {
		return false
	}
	return g.variantKind(i) == variantFiles || g.unit(i, saltEmailKey) < 0.10
}

func (g *generator) userID(num int) string {
	b := append(make([]byte, 0, 8), 'u')
	return string(appendPadded(b, num, g.idWidth))
}

func (g *generator) anonID(j int) string {
	k := g.keys[saltAnon]
	b := append(make([]byte, 0, 40), 'a', '-')
	return string(appendUUIDish(b, mix64(k+uint64(j)), mix64(mix64(k^0x5851f42d4c957f2d)+uint64(j))))
}

func (g *generator) deviceToken(i int) string {
	k := g.keys[saltDevice]
	b := append(make([]byte, 0, 40), "dt_"...)
	b = appendHex64(b, mix64(k+uint64(i)))
	return string(appendHex64(b, mix64(mix64(k^0x5851f42d4c957f2d)+uint64(i))))
}

// lineUserID is the LINE user id of customer i ("" for one who does not
// follow the account): most Thai customers and a few others follow it.
// Drawn from the index alone, so no other decision moves.
func (g *generator) lineUserID(i int, country string) string {
	share := 0.05
	if country == "TH" {
		share = 0.45
	}
	if g.unit(i, saltLINE) >= share {
		return ""
	}
	k := g.keys[saltLINEID]
	b := append(make([]byte, 0, 33), 'U')
	b = appendHex64(b, mix64(k+uint64(i)))
	return string(appendHex64(b, mix64(mix64(k^0x5851f42d4c957f2d)+uint64(i))))
}

// phone returns the national significant number for numbering index idx in
// plan pl. The index goes through a keyed permutation of [0, pl.space), so
// distinct indexes below pl.space give distinct, unrelated-looking numbers.
func (g *generator) phone(pl *phonePlan, idx int) string {
	v := permute(uint64(idx), pl.space, g.keys[saltPhone])
	unit := uint64(math.Pow10(pl.digits))
	b := make([]byte, 0, 16)
	b = append(b, pl.prefixes[v/unit]...)
	return string(appendPadded(b, int(v%unit), pl.digits))
}

// permute is a keyed bijection of [0, n) (x < n): a bijection of the
// enclosing power-of-two range, applied until the value falls back inside
// [0, n) (cycle walking).
func permute(x, n, key uint64) uint64 {
	k := uint(bits.Len64(n - 1))
	mask := uint64(1)<<k - 1
	h := (k + 1) / 2
	for {
		x ^= x >> h
		x = (x * 0x9e3779b97f4a7c15) & mask
		x = (x + key) & mask
		x ^= x >> h
		x = (x * 0xbf58476d1ce4e5b9) & mask
		x ^= x >> h
		if x < n {
			return x
		}
	}
}

func planOf(c *country, z *zone) *phonePlan {
	if z.phone != nil {
		return z.phone
	}
	return c.phone
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// plans are the subscription tiers, cheapest first.
func plans() [4]string { return [...]string{"free", "basic", "pro", "enterprise"} }

// genCore draws a CRM customer: identity, name, country, traits. It uses its
// own random stream, so the same index always yields the same customer.
func (g *generator) genCore(p *person, i int) {
	role := g.familyRole(i)
	if role == familyPartner {
		g.genCore(&g.head, i-1)
	}
	g.seed(g.corePCG, saltCore, i)
	r := g.core
	*p = person{idx: i, num: i + 1, family: role}
	p.userID = g.userID(p.num)
	p.c = &g.t.countries[pick(r, g.t.countryCum)]
	p.zone = &p.c.zones[pick(r, p.c.zoneCum)]
	p.script = p.c.scriptP > 0 && r.Float64() < p.c.scriptP
	p.firstIdx = r.IntN(len(p.c.firsts))
	p.lastIdx = r.IntN(len(p.c.lasts))
	p.emailStyle = r.IntN(4)
	if r.Float64() < 0.3 {
		p.domain = p.c.domains[r.IntN(len(p.c.domains))]
	} else {
		p.domain = g.t.domains[pick(r, g.t.domainCum)]
	}
	hasPhone := r.Float64() < 0.6
	dashed := r.Float64() < 0.75
	if r.Float64() >= 0.05 {
		p.age = min(85, max(18, int(math.Round(36+12*r.NormFloat64()))))
	}
	tzMissing := r.Float64() < 0.03
	pl := pick(r, []float64{0.50, 0.78, 0.95, 1})
	p.plan = plans()[pl]
	base := [...]float64{600, 4500, 18000, 90000}[pl]
	p.ltv = round2(base * math.Exp(0.7*r.NormFloat64()-0.245))
	if pl == 0 && r.Float64() < 0.15 {
		p.ltv = 0
	}
	p.vip = p.ltv > 60000 || r.Float64() < 0.03
	u := r.Float64()
	p.signup = g.now - 3*day - int64(math.Pow(u, 1.7)*float64(8*365*day))
	p.updated = p.signup + int64(math.Sqrt(r.Float64())*float64(g.now-3*day-p.signup))
	if role == familyPartner {
		h := &g.head
		p.c, p.zone, p.script, p.lastIdx, p.domain = h.c, h.zone, h.script, h.lastIdx, h.domain
		p.firstIdx = r.IntN(len(p.c.firsts))
		tzMissing = h.tz == ""
	}
	if !tzMissing {
		p.tz = p.zone.name
	}
	fn, ln := p.c.firsts[p.firstIdx], p.c.lasts[p.lastIdx]
	if p.script {
		p.first, p.last = fn.script, ln.script
	} else {
		p.first, p.last = fn.display, ln.display
	}
	num := strconv.Itoa(p.num)
	switch {
	case role == familyPartner:
		p.email = g.head.email
	case role == familyHead:
		p.email = ln.ascii + ".family" + num + "@" + p.domain
	default:
		switch p.emailStyle {
		case 0:
			p.email = fn.ascii + "." + ln.ascii + num + "@" + p.domain
		case 1:
			p.email = fn.ascii + num + "@" + p.domain
		case 2:
			p.email = fn.ascii[:1] + ln.ascii + num + "@" + p.domain
		default:
			p.email = fn.ascii + "_" + ln.ascii + num + "@" + p.domain
		}
	}
	p.line = g.lineUserID(i, p.c.code)
	if hasPhone {
		nat := g.phone(planOf(p.c, p.zone), i)
		p.phoneE164 = "+" + planOf(p.c, p.zone).cc + nat
		switch {
		case p.c.code != "TH":
			p.phoneCRM = p.phoneE164
		case dashed:
			l := "0" + nat
			p.phoneCRM = l[0:3] + "-" + l[3:6] + "-" + l[6:]
		default:
			p.phoneCRM = "0" + nat
		}
	}
}

// emailVariant respells an address with other letter case and surrounding
// spaces; it normalises (trim, lower-case) back to the original.
func emailVariant(email string, r *rand.Rand) string {
	b := []byte(email)
	for j, ch := range b {
		if ch >= 'a' && ch <= 'z' && (j == 0 || b[j-1] == '.' || b[j-1] == '@' || r.Float64() < 0.15) {
			b[j] = ch - 'a' + 'A'
		}
	}
	switch r.IntN(3) {
	case 0:
		return " " + string(b)
	case 1:
		return string(b) + " "
	default:
		return "  " + string(b) + " "
	}
}

func (g *generator) writeCRM(p *person, email, plan string, ltv float64, updated int64) {
	b := g.buf[:0]
	b = append(b, p.userID...)
	b = append(b, ',')
	b = appendCSV(b, email)
	b = append(b, ',')
	b = appendCSV(b, p.phoneCRM)
	b = append(b, ',')
	b = appendCSV(b, p.first)
	b = append(b, ',')
	b = appendCSV(b, p.last)
	b = append(b, ',')
	b = append(b, p.c.code...)
	b = append(b, ',')
	b = append(b, p.tz...)
	b = append(b, ',')
	if p.age > 0 {
		b = strconv.AppendInt(b, int64(p.age), 10)
	}
	b = append(b, ',')
	b = append(b, plan...)
	b = append(b, ',')
	b = strconv.AppendFloat(b, ltv, 'f', 2, 64)
	b = append(b, ',')
	b = appendTime(b, p.signup)
	b = append(b, ',')
	b = strconv.AppendBool(b, p.vip)
	b = append(b, ',')
	b = appendTime(b, updated)
	b = append(b, ',')
	b = append(b, p.line...)
	b = append(b, '\n')
	g.out[outCRM].row(b)
	g.buf = b
}

func (g *generator) run() {
	for i := 0; i < g.n; i++ {
		g.person(i)
	}
	// A later CRM delta: the same customers again, e-mail respelled, plan
	// upgraded, newer updated_at.
	for i := 0; i < g.n; i++ {
		if g.variantKind(i) == variantCRM {
			g.crmUpdate(i)
		}
	}
	c := &g.cases.Counts
	c.Profiles = g.n + c.AnonymousOnly + c.WalkInPhones
}

func (g *generator) crmUpdate(i int) {
	p := &g.p
	g.genCore(p, i)
	r := g.core // continues the customer's own stream after genCore
	v := emailVariant(p.email, r)
	tiers := plans()
	plan := p.plan
	if k := slices.Index(tiers[:], plan); k < len(tiers)-1 {
		plan = tiers[k+1]
	}
	ltv := round2(p.ltv*(1.1+0.4*r.Float64()) + 100)
	updated := p.updated + 1 + r.Int64N(g.now-hour-p.updated)
	g.writeCRM(p, v, plan, ltv, updated)
	g.cases.Counts.EmailVariants++
	if len(g.cases.EmailVariants) < MaxCaseExamples {
		g.cases.EmailVariants = append(g.cases.EmailVariants, EmailVariant{
			UserID: p.userID, Email: p.email, Variant: v, Files: []string{FileCRMProfiles}})
	}
}

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
