package sample

import (
	"cmp"
	"math"
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
		if g.o.Progress != nil && (i+1)%progressEvery == 0 {
			g.o.Progress(i+1, g.n)
		}
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
	if g.o.Progress != nil {
		g.o.Progress(g.n, g.n)
	}
}

// progressEvery is how many people are written between progress reports.
const progressEvery = 5000

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
