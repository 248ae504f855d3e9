package sample

import (
	"math"
	"math/rand/v2"
	"strings"
)

// This file holds the static vocabulary of the generator: countries, time
// zones, names, phone numbering plans, stores and the product catalogue. The
// tables are built afresh for every Write call (see newTables), so the package
// keeps no mutable state of its own.

// name is a given or family name. display is how the CRM spells it in Latin
// script, script (optional) is the native spelling (Thai, Japanese), ascii is
// the lower-case form used to build e-mail addresses.
type name struct {
	display, script, ascii string
}

// phonePlan describes a block of valid mobile numbers of one country:
// national significant numbers are prefix + digits random digits.
type phonePlan struct {
	cc       string   // country calling code without '+'
	prefixes []string // leading digits of the national significant number
	digits   int      // digits after the prefix
	space    uint64   // len(prefixes) * 10^digits
}

func newPhonePlan(cc string, digits int, prefixes ...string) *phonePlan {
	p := &phonePlan{cc: cc, prefixes: prefixes, digits: digits}
	p.space = uint64(len(prefixes)) * uint64(math.Pow10(digits))
	return p
}

// zone is an IANA time zone with the fixed UTC offset (standard time, in
// hours) the generator uses to place activity at plausible local hours.
type zone struct {
	name   string
	offset int
	phone  *phonePlan // overrides the country plan (US area codes per zone)
}

type country struct {
	code      string
	weight    float64
	zones     []zone
	zoneCum   []float64
	firsts    []name
	lasts     []name
	scriptP   float64 // probability of native-script names in the CRM
	lang      string  // preferred language of most customers
	langP     float64 // probability of lang (else "en")
	currency  string
	rate      float64 // units of currency per THB
	decimals  int     // price rounding: 2 = x.90 prices, 0 = whole units, -3 = thousands
	phone     *phonePlan
	domains   []string // regional e-mail domains (all under reserved example names)
	storeHome []int    // indexes into tables.stores; nil: only tourists buy in store
}

type store struct {
	id      string
	country string
	offset  int // hours east of UTC
	weight  float64
	c       *country // currency
}

type product struct {
	sku      string
	slug     string
	category string
	price    float64 // THB
}

type tables struct {
	countries    []country
	countryCum   []float64
	stores       []store
	thStores     []int
	thStoreCum   []float64
	otherStores  []int // outside Thailand
	storeHourCum []float64
	catalog      []product
	catCum       []float64
	categories   []string
	hourCum      []float64 // local hour of web activity
	domains      []string  // global e-mail domains
	domainCum    []float64
	tagList      []string
	referrers    []string
	refCum       []float64
	blogSlugs    []string
}

func cumulative(w []float64) []float64 {
	c := make([]float64, len(w))
	s := 0.0
	for i, x := range w {
		s += x
		c[i] = s
	}
	for i := range c {
		c[i] /= s
	}
	return c
}

// pick returns an index drawn with the weights whose cumulative,
// normalised form is cum.
func pick(r *rand.Rand, cum []float64) int {
	u := r.Float64()
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if u < cum[m] {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// names parses "Display" or "Display/ascii" or "Script/Display" entries.
// When native is true the part before '/' is the native script.
func names(native bool, list ...string) []name {
	out := make([]name, len(list))
	for i, s := range list {
		var n name
		a, b, ok := strings.Cut(s, "/")
		switch {
		case native:
			n.script, n.display = a, b
		case ok:
			n.display, n.ascii = a, b
		default:
			n.display = a
		}
		if n.ascii == "" {
			n.ascii = asciiName(n.display)
		}
		out[i] = n
	}
	return out
}

func asciiName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func usPlan(areas ...string) *phonePlan {
	// Exchange codes NXX: first digit 2-9, second digit not 1 (no N11
	// service codes), never 555; the third exchange digit is free.
	var prefixes []string
	for _, a := range areas {
		for d1 := '2'; d1 <= '9'; d1++ {
			for _, d2 := range "023456789" {
				if d1 == '5' && d2 == '5' {
					continue
				}
				prefixes = append(prefixes, a+string(d1)+string(d2))
			}
		}
	}
	return newPhonePlan("1", 5, prefixes...)
}

func seq(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, prefix+string(rune('0'+i)))
	}
	return out
}

func newTables() *tables {
	t := &tables{}
	t.stores = []store{
		{id: "BKK-01", country: "TH", offset: 7, weight: 10}, {id: "BKK-02", country: "TH", offset: 7, weight: 9}, {id: "BKK-03", country: "TH", offset: 7, weight: 9}, {id: "BKK-04", country: "TH", offset: 7, weight: 7},
		{id: "BKK-05", country: "TH", offset: 7, weight: 6}, {id: "BKK-06", country: "TH", offset: 7, weight: 5}, {id: "BKK-07", country: "TH", offset: 7, weight: 4}, {id: "BKK-08", country: "TH", offset: 7, weight: 4},
		{id: "CNX-01", country: "TH", offset: 7, weight: 4}, {id: "CNX-02", country: "TH", offset: 7, weight: 2}, {id: "HKT-01", country: "TH", offset: 7, weight: 4}, {id: "KKC-01", country: "TH", offset: 7, weight: 2},
		{id: "PTY-01", country: "TH", offset: 7, weight: 3},
		{id: "SIN-01", country: "SG", offset: 8, weight: 3}, {id: "SIN-02", country: "SG", offset: 8, weight: 2},
		{id: "KUL-01", country: "MY", offset: 8, weight: 3}, {id: "KUL-02", country: "MY", offset: 8, weight: 2}, {id: "PEN-01", country: "MY", offset: 8, weight: 1},
	}
	storesOf := func(cc string) []int {
		var out []int
		for i, s := range t.stores {
			if s.country == cc {
				out = append(out, i)
			}
		}
		return out
	}
	t.thStores = storesOf("TH")
	var w []float64
	for _, i := range t.thStores {
		w = append(w, t.stores[i].weight)
	}
	t.thStoreCum = cumulative(w)

	thPlan := newPhonePlan("66", 7, append(seq("8", 0, 9), seq("9", 0, 9)...)...)
	t.countries = []country{
		{
			code: "TH", weight: 55, zones: []zone{{"Asia/Bangkok", 7, nil}},
			firsts: names(true,
				"สมชาย/Somchai", "สมศักดิ์/Somsak", "วิชัย/Wichai", "ประเสริฐ/Prasert", "กิตติ/Kitti",
				"อนันต์/Anan", "ชัยวัฒน์/Chaiwat", "ณัฐวุฒิ/Nattawut", "ธนพล/Thanaphon", "ปิยะ/Piya",
				"สุรเชษฐ์/Surachet", "ธีรพงษ์/Theeraphong", "อภิชาติ/Aphichat", "วีระ/Weera", "พงศกร/Phongsakorn",
				"สมศรี/Somsri", "สุดา/Suda", "นภา/Napha", "มาลี/Malee", "วันเพ็ญ/Wanphen",
				"ศิริพร/Siriporn", "กนกวรรณ/Kanokwan", "พิมพ์ชนก/Phimchanok", "อรุณี/Arunee", "ปวีณา/Paweena",
				"รัตนา/Rattana", "จันทร์เพ็ญ/Chanphen", "ธิดารัตน์/Thidarat", "นุชนาฏ/Nutchanat", "สุภาพร/Supaporn"),
			lasts: names(true,
				"ใจดี/Jaidee", "สุขสวัสดิ์/Suksawat", "ศรีสุข/Srisuk", "วงศ์ใหญ่/Wongyai", "บุญมา/Boonma",
				"แก้วมณี/Kaewmanee", "ทองดี/Thongdee", "รัตนพันธ์/Rattanaphan", "สมบูรณ์/Somboon", "พรหมมา/Phromma",
				"เจริญผล/Charoenphon", "ชัยมงคล/Chaimongkol", "ปัญญาดี/Panyadee", "ศักดิ์สิทธิ์/Saksit", "อินทร์แก้ว/Inkaew",
				"ศรีวงศ์/Sriwong", "มีสุข/Meesuk", "พูลสวัสดิ์/Phoonsawat", "สายทอง/Saithong", "กาญจนวงศ์/Kanchanawong"),
			scriptP: 0.4, lang: "th", langP: 0.85, currency: "THB", rate: 1, decimals: 0,
			phone: thPlan, domains: []string{"th.example.com", "thaimail.example"},
		},
		{
			code: "SG", weight: 10, zones: []zone{{"Asia/Singapore", 8, nil}},
			firsts: names(false, "Wei Ming", "Hui Min", "Jun Jie", "Siew Ling", "Muhammad", "Nurul", "Priya",
				"Rajesh", "Chloe", "Ethan", "Jia Hui", "Darren"),
			lasts: names(false, "Tan", "Lim", "Lee", "Ng", "Wong", "Goh", "Chua", "Koh", "Rahman", "Kumar", "Pillai", "Teo"),
			lang:  "en", langP: 1, currency: "SGD", rate: 0.039, decimals: 2,
			phone:   newPhonePlan("65", 6, append(seq("8", 1, 8), seq("9", 0, 8)...)...),
			domains: []string{"sg.example.com"},
		},
		{
			code: "MY", weight: 8, zones: []zone{{"Asia/Kuala_Lumpur", 8, nil}},
			firsts: names(false, "Ahmad", "Siti", "Nur Aisyah", "Muhammad Hafiz", "Mei Ling", "Kavitha", "Arjun",
				"Farah", "Azlan", "Chong Wei"),
			lasts: names(false, "Abdullah", "Ismail", "Ibrahim", "Tan", "Lim", "Wong", "Rajan", "Hassan", "Yusof", "Ong"),
			lang:  "ms", langP: 0.6, currency: "MYR", rate: 0.13, decimals: 2,
			phone:   newPhonePlan("60", 7, "12", "16", "19"),
			domains: []string{"my.example.net"},
		},
		{
			code: "VN", weight: 6, zones: []zone{{"Asia/Ho_Chi_Minh", 7, nil}},
			firsts: names(false, "Anh", "Minh", "Linh", "Hương/huong", "Đức/duc", "Thảo/thao", "Quang", "Trang",
				"Tuấn/tuan", "Ngọc/ngoc", "Hoa"),
			lasts: names(false, "Nguyễn/nguyen", "Trần/tran", "Lê/le", "Phạm/pham", "Hoàng/hoang", "Vũ/vu",
				"Đặng/dang", "Bùi/bui"),
			lang: "vi", langP: 0.8, currency: "VND", rate: 720, decimals: -3,
			phone:   newPhonePlan("84", 7, seq("9", 0, 8)...),
			domains: []string{"vn.example.net"},
		},
		{
			code: "ID", weight: 6,
			zones:  []zone{{"Asia/Jakarta", 7, nil}, {"Asia/Makassar", 8, nil}, {"Asia/Jayapura", 9, nil}},
			firsts: names(false, "Budi", "Siti", "Putri", "Agus", "Dewi", "Rizky", "Ayu", "Andi", "Wahyu", "Fitri"),
			lasts: names(false, "Santoso", "Wijaya", "Pratama", "Saputra", "Hidayat", "Kusuma", "Setiawan",
				"Lestari", "Nugroho", "Halim"),
			lang: "id", langP: 0.8, currency: "IDR", rate: 460, decimals: -3,
			phone:   newPhonePlan("62", 8, "812", "813", "821", "822", "852", "853"),
			domains: []string{"id.example.org"},
		},
		{
			code: "JP", weight: 5, zones: []zone{{"Asia/Tokyo", 9, nil}},
			firsts: names(true, "陽翔/Haruto", "結衣/Yui", "蒼太/Sota", "陽菜/Hina", "蓮/Ren", "葵/Aoi", "悠人/Yuto",
				"さくら/Sakura", "拓海/Takumi", "芽依/Mei"),
			lasts: names(true, "佐藤/Sato", "鈴木/Suzuki", "高橋/Takahashi", "田中/Tanaka", "渡辺/Watanabe",
				"伊藤/Ito", "山本/Yamamoto", "中村/Nakamura", "小林/Kobayashi", "加藤/Kato"),
			scriptP: 0.25, lang: "ja", langP: 0.9, currency: "JPY", rate: 4.3, decimals: -1,
			phone:   newPhonePlan("81", 7, append(seq("80", 1, 9), seq("90", 1, 9)...)...),
			domains: []string{"jp.example.net"},
		},
		{
			code: "GB", weight: 4, zones: []zone{{"Europe/London", 0, nil}},
			firsts: names(false, "Oliver", "Amelia", "George", "Isla", "Harry", "Olivia", "Jack", "Emily",
				"Charlie", "Sophie"),
			lasts: names(false, "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
				"O'Brien", "Evans"),
			lang: "en", langP: 1, currency: "GBP", rate: 0.022, decimals: 2,
			phone:   newPhonePlan("44", 7, seq("77", 1, 7)...),
			domains: []string{"uk.example.org"},
		},
		{
			code: "US", weight: 4,
			zones: []zone{
				{"America/New_York", -5, usPlan("212", "646", "617", "305", "404")},
				{"America/Chicago", -6, usPlan("312", "512", "214")},
				{"America/Denver", -7, usPlan("303", "720")},
				{"America/Los_Angeles", -8, usPlan("415", "310", "206")},
			},
			firsts: names(false, "James", "Mary", "Michael", "Jennifer", "David", "Jessica", "Daniel", "Ashley",
				"Emma", "Noah"),
			lasts: names(false, "Johnson", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Anderson",
				"Thomas", "Jackson", "White"),
			lang: "en", langP: 1, currency: "USD", rate: 0.029, decimals: 2,
			domains: []string{"us.example.com"},
		},
		{
			code: "DE", weight: 2, zones: []zone{{"Europe/Berlin", 1, nil}},
			firsts: names(false, "Lukas", "Anna", "Jürgen/juergen", "Lena", "Maximilian", "Sophie", "Jonas",
				"Marie", "Felix", "Laura"),
			lasts: names(false, "Müller/mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
				"Becker", "Schäfer/schaefer", "Koch"),
			lang: "de", langP: 0.85, currency: "EUR", rate: 0.027, decimals: 2,
			phone:   newPhonePlan("49", 8, seq("17", 0, 9)...),
			domains: []string{"de.example.com"},
		},
	}
	w = w[:0]
	for i := range t.countries {
		c := &t.countries[i]
		w = append(w, c.weight)
		var zw []float64
		switch c.code {
		case "ID":
			zw = []float64{80, 15, 5}
		case "US":
			zw = []float64{45, 20, 10, 25}
		default:
			zw = []float64{1}
		}
		c.zoneCum = cumulative(zw)
		c.storeHome = storesOf(c.code)
	}
	t.countryCum = cumulative(w)
	for i := range t.stores {
		s := &t.stores[i]
		for j := range t.countries {
			if t.countries[j].code == s.country {
				s.c = &t.countries[j]
			}
		}
		if s.country != "TH" {
			t.otherStores = append(t.otherStores, i)
		}
	}
	// Store opening hours 10:00-22:00 with lunch and after-work peaks.
	t.storeHourCum = cumulative([]float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 6, 9, 8, 6, 6, 7, 9, 11, 10, 7, 4, 0, 0})

	t.domains = []string{"example.com", "example.net", "example.org", "mail.example.com", "inbox.example.net"}
	t.domainCum = cumulative([]float64{40, 20, 10, 15, 15})

	t.tagList = []string{"newsletter", "sale", "new_arrivals", "loyalty", "beauty", "electronics", "fashion",
		"home", "kids", "sports"}

	t.referrers = []string{"https://www.google.com/", "", "https://www.facebook.com/", "https://line.me/",
		"https://www.instagram.com/", "https://www.tiktok.com/", "https://www.bing.com/",
		"https://mail.example.com/"}
	t.refCum = cumulative([]float64{35, 25, 10, 8, 7, 7, 4, 4})
	t.blogSlugs = []string{"songkran-skincare", "rainy-season-essentials", "work-from-home-setup",
		"healthy-lunchbox", "running-shoes-guide", "gift-ideas"}

	// Local hour of web sessions: quiet nights, a lunch bump, an evening peak.
	t.hourCum = cumulative([]float64{2, 1, 1, 0.5, 0.5, 1, 2, 4, 5, 5, 5, 6, 8, 7, 5, 5, 5, 6, 8, 10, 11, 10, 7, 4})

	// The catalogue does not depend on the seed: SKUs are stable across data sets.
	cats := []struct {
		name, code string
		lo, hi     float64
	}{
		{"beauty", "BTY", 190, 2490}, {"fashion", "FSH", 290, 3990}, {"electronics", "ELC", 590, 45900},
		{"home", "HOM", 99, 5990}, {"grocery", "GRC", 25, 690}, {"sports", "SPT", 290, 8990},
		{"kids", "KID", 150, 2990}, {"health", "HLT", 120, 1890},
	}
	r := rand.New(rand.NewPCG(2026, 11))
	for _, c := range cats {
		t.categories = append(t.categories, c.name)
		for k := 1; k <= 20; k++ {
			p := math.Exp(math.Log(c.lo) + r.Float64()*(math.Log(c.hi)-math.Log(c.lo)))
			p = thbPrice(p)
			sku := c.code + "-" + pad(k, 4)
			t.catalog = append(t.catalog, product{sku: sku, slug: strings.ToLower(sku), category: c.name, price: p})
		}
	}
	// Popularity: a mild Zipf over a fixed shuffle of the catalogue.
	order := r.Perm(len(t.catalog))
	pw := make([]float64, len(t.catalog))
	for rank, i := range order {
		pw[i] = 1 / math.Pow(float64(rank+1), 0.8)
	}
	t.catCum = cumulative(pw)
	return t
}

// thbPrice rounds a Thai baht amount to a shelf price: 89, 459, 1290.
func thbPrice(p float64) float64 {
	switch {
	case p < 100:
		return math.Floor(p/10)*10 + 9
	case p < 1000:
		return math.Floor(p/10)*10 + 9
	default:
		return math.Round(p/100)*100 - 10
	}
}

// localPrice converts a THB shelf price to c's currency with local rounding.
func localPrice(c *country, thb float64) float64 {
	x := thb * c.rate
	switch c.decimals {
	case 0:
		return x
	case 2:
		f := math.Floor(x)
		if f < 1 {
			return 0.9
		}
		return f + 0.9
	default: // round to 10^-decimals
		m := math.Pow10(-c.decimals)
		v := math.Round(x/m) * m
		if v < m {
			v = m
		}
		return v
	}
}

func pad(n, width int) string {
	s := make([]byte, 0, width)
	return string(appendPadded(s, n, width))
}
