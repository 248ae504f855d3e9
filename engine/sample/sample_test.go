package sample

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/sample from Write(dir, Options{})")

const goldenDir = "../../testdata/sample"

// TestGolden regenerates the default sample and compares it byte for byte
// with the committed copy in testdata/sample (README.md included).
// Refresh with: go test ./engine/sample/ -run TestGolden -update
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	m, err := Write(dir, Options{})
	require.NoError(t, err)
	want := map[string][]byte{"README.md": []byte(renderREADME(t, dir, m))}
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		require.NoError(t, err)
		want[f.Name] = b
	}
	if *update {
		require.NoError(t, os.MkdirAll(goldenDir, 0o755))
		for name, b := range want {
			require.NoError(t, os.WriteFile(filepath.Join(goldenDir, name), b, 0o644))
		}
	}
	entries, err := os.ReadDir(goldenDir)
	require.NoError(t, err, "run: go test ./engine/sample/ -run TestGolden -update")
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	var names []string
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	require.Equal(t, names, got, "files in %s", goldenDir)
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(goldenDir, name))
		require.NoError(t, err)
		if !bytes.Equal(b, want[name]) {
			t.Errorf("%s differs from Write(dir, Options{}) at line %d; if the change is intended run: "+
				"go test ./engine/sample/ -run TestGolden -update", name, firstDiffLine(b, want[name]))
		}
	}
}

func firstDiffLine(a, b []byte) int {
	line := 1
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return line
		}
		if a[i] == '\n' {
			line++
		}
	}
	return line
}

func TestDeterministic(t *testing.T) {
	opts := Options{Profiles: 400, Seed: 7, EventsPerProfile: 6, Now: time.Date(2025, 5, 17, 12, 30, 0, 0, time.UTC)}
	d1, d2, d3 := t.TempDir(), t.TempDir(), t.TempDir()
	m1, err := Write(d1, opts)
	require.NoError(t, err)
	m2, err := Write(d2, opts)
	require.NoError(t, err)
	require.Equal(t, m1, m2)
	for _, f := range m1.Files {
		b1, err := os.ReadFile(filepath.Join(d1, f.Name))
		require.NoError(t, err)
		b2, err := os.ReadFile(filepath.Join(d2, f.Name))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(b1, b2), "%s differs between two runs", f.Name)
	}
	// Another seed gives other data of the same shape.
	opts.Seed = 8
	m3, err := Write(d3, opts)
	require.NoError(t, err)
	b1, _ := os.ReadFile(filepath.Join(d1, FileWebEvents))
	b3, _ := os.ReadFile(filepath.Join(d3, FileWebEvents))
	assert.False(t, bytes.Equal(b1, b3))
	assert.Equal(t, m1.Files[0].Name, m3.Files[0].Name)
	// No temporary files are left behind.
	entries, err := os.ReadDir(d1)
	require.NoError(t, err)
	assert.Len(t, entries, len(m1.Files))
}

func TestOptions(t *testing.T) {
	for _, o := range []Options{{Profiles: -1}, {EventsPerProfile: -3}, {Profiles: MaxProfiles + 1}} {
		_, err := Write(t.TempDir(), o)
		assert.Error(t, err, "%+v", o)
	}
	o, err := Options{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, Options{Profiles: 1000, Seed: 1, EventsPerProfile: 10, Now: DefaultNow()}, o)
	// A tiny data set still works and still has the guaranteed cases.
	m, err := Write(t.TempDir(), Options{Profiles: 20})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, m.Cases.Counts.SharedEmails, 3)
	assert.GreaterOrEqual(t, m.Cases.Counts.ConsentTies, 3)
	_, err = Write(t.TempDir(), Options{Profiles: 1})
	require.NoError(t, err)
}

func TestManifest(t *testing.T) {
	dir := t.TempDir()
	m, err := Write(dir, Options{})
	require.NoError(t, err)
	var names, kinds []string
	events := 0
	for _, f := range m.Files {
		names = append(names, f.Name)
		kinds = append(kinds, f.Kind)
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		require.NoError(t, err)
		lines := bytes.Count(b, []byte("\n"))
		if strings.HasSuffix(f.Name, ".csv") {
			lines-- // header
		}
		assert.Equal(t, lines, f.Rows, f.Name)
		if f.Kind == KindEvents {
			events += f.Rows
		}
	}
	assert.Equal(t, []string{FileCRMProfiles, FileWebIdentify, FileWebEvents, FileStorePurchases,
		FileEmailEngagement, FileConsents}, names)
	assert.Equal(t, []string{"profiles", "profiles", "events", "events", "events", "consents"}, kinds)
	c := m.Cases.Counts
	assert.Equal(t, events-c.DuplicateMessageIDs, c.Events)
	assert.InDelta(t, 10, float64(c.Events)/1000, 1.5, "events per profile")
	assert.Equal(t, 1000+c.AnonymousOnly+c.WalkInPhones, c.Profiles)
	assert.Len(t, m.Cases.SharedEmails, c.SharedEmails)
	assert.Len(t, m.Cases.EmailVariants, c.EmailVariants)
	assert.Len(t, m.Cases.ConsentTies, c.ConsentTies)
	assert.Len(t, m.Cases.DuplicateMessageIDs, c.DuplicateMessageIDs)
	assert.Len(t, m.Cases.WalkInPhones, c.WalkInPhones)
}

// ---- invariants of the default data set, re-derived from the files ----

type crmRow struct {
	line                                       int
	userID, email, phone, first, last, country string
	tz, age, plan, ltv, signup, vip, updated   string
	lineUserID                                 string
}

type dataset struct {
	dir      string
	m        Manifest
	now      time.Time
	crm      []crmRow
	first    map[string]*crmRow // user_id -> first CRM row
	byEmail  map[string][]string
	byPhone  map[string]string
	anonUser map[string]string
	webLines [][]byte
}

func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func normPhone(raw, country string) string {
	d := strings.NewReplacer("-", "", " ", "").Replace(raw)
	if strings.HasPrefix(d, "+") || d == "" {
		return d
	}
	if country == "TH" && strings.HasPrefix(d, "0") {
		return "+66" + d[1:]
	}
	return d
}

func readCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	recs, err := r.ReadAll() // also checks every row has the header's field count
	require.NoError(t, err, path)
	require.NotEmpty(t, recs)
	return recs[0], recs[1:]
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, slices.Clone(sc.Bytes()))
	}
	require.NoError(t, sc.Err())
	return out
}

func loadDataset(t *testing.T) *dataset {
	t.Helper()
	dir := t.TempDir()
	m, err := Write(dir, Options{})
	require.NoError(t, err)
	d := &dataset{dir: dir, m: m, now: DefaultNow(), first: map[string]*crmRow{}, byEmail: map[string][]string{},
		byPhone: map[string]string{}, anonUser: map[string]string{}}
	header, rows := readCSV(t, filepath.Join(dir, FileCRMProfiles))
	require.Equal(t, []string{"user_id", "email", "phone", "first_name", "last_name", "country", "timezone",
		"age", "plan", "ltv", "signup_at", "vip", "updated_at", "line_user_id"}, header)
	for i, r := range rows {
		d.crm = append(d.crm, crmRow{i + 2, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13]})
	}
	for i := range d.crm {
		r := &d.crm[i]
		if _, dup := d.first[r.userID]; dup {
			continue
		}
		d.first[r.userID] = r
		e := normEmail(r.email)
		d.byEmail[e] = append(d.byEmail[e], r.userID)
		if r.phone != "" {
			p := normPhone(r.phone, r.country)
			_, taken := d.byPhone[p]
			require.False(t, taken, "phone %s used twice", p)
			d.byPhone[p] = r.userID
		}
	}
	for _, line := range readLines(t, filepath.Join(dir, FileWebIdentify)) {
		var v map[string]any
		require.NoError(t, json.Unmarshal(line, &v), string(line))
		for k := range v {
			require.Contains(t, []string{"anonymous_id", "user_id", "device_token", "tags", "preferred_language",
				"updated_at"}, k)
		}
		anon, user := v["anonymous_id"].(string), v["user_id"].(string)
		require.NotContains(t, d.anonUser, anon, "anonymous id identified twice")
		require.Contains(t, d.first, user)
		d.anonUser[anon] = user
	}
	d.webLines = readLines(t, filepath.Join(dir, FileWebEvents))
	return d
}

func (d *dataset) userOfEmail(t *testing.T, raw string) string {
	t.Helper()
	users := d.byEmail[normEmail(raw)]
	require.Len(t, users, 1, "e-mail %q must belong to exactly one customer", raw)
	return users[0]
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err, s)
	return ts
}

func TestCRMProfiles(t *testing.T) {
	d := loadDataset(t)
	c := d.m.Cases
	zones := map[string][]string{
		"TH": {"Asia/Bangkok"}, "SG": {"Asia/Singapore"}, "MY": {"Asia/Kuala_Lumpur"},
		"VN": {"Asia/Ho_Chi_Minh"}, "ID": {"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"},
		"JP": {"Asia/Tokyo"}, "GB": {"Europe/London"}, "DE": {"Europe/Berlin"},
		"US": {"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"},
	}
	thLocal := regexp.MustCompile(`^0[689]\d(-?)\d{3}(-?)\d{4}$`)
	e164 := regexp.MustCompile(`^\+[1-9]\d{7,14}$`)
	ltv := regexp.MustCompile(`^\d+\.\d{2}$`)
	uid := regexp.MustCompile(`^u\d{6}$`)
	require.Len(t, d.first, 1000)
	var noTZ, noAge, phones, thai, countryTH int
	for _, r := range d.crm {
		require.Regexp(t, uid, r.userID)
		if d.first[r.userID] != &d.crm[r.line-2] {
			continue // a later respelled row, checked below
		}
		assert.Equal(t, normEmail(r.email), r.email, "first CRM rows carry clean e-mails")
		assert.Contains(t, zones, r.country)
		if r.tz == "" {
			noTZ++
		} else {
			assert.Contains(t, zones[r.country], r.tz)
			_, err := time.LoadLocation(r.tz)
			assert.NoError(t, err)
		}
		if r.age == "" {
			noAge++
		} else {
			a, err := strconv.Atoi(r.age)
			require.NoError(t, err)
			assert.True(t, a >= 18 && a <= 85, r.age)
		}
		if r.phone != "" {
			phones++
			if r.country == "TH" {
				assert.Regexp(t, thLocal, r.phone)
			} else {
				assert.Regexp(t, e164, r.phone)
			}
		}
		if r.country == "TH" {
			countryTH++
		}
		if strings.IndexFunc(r.first, func(c rune) bool { return unicode.Is(unicode.Thai, c) }) >= 0 {
			thai++
		}
		assert.Contains(t, []string{"free", "basic", "pro", "enterprise"}, r.plan)
		assert.Regexp(t, ltv, r.ltv)
		assert.Contains(t, []string{"true", "false"}, r.vip)
		su, up := parseTime(t, r.signup), parseTime(t, r.updated)
		assert.True(t, su.Before(d.now) && !up.Before(su) && up.Before(d.now), r.userID)
	}
	assert.InDelta(t, 0.03, float64(noTZ)/1000, 0.02, "missing time zones")
	assert.InDelta(t, 0.05, float64(noAge)/1000, 0.025, "missing ages")
	assert.InDelta(t, 0.6, float64(phones)/1000, 0.06, "phones present")
	assert.InDelta(t, 0.55, float64(countryTH)/1000, 0.06, "Thai customers")
	assert.Greater(t, thai, 50, "names in Thai script")

	// Family addresses: exactly the listed pairs share an e-mail.
	require.GreaterOrEqual(t, c.Counts.SharedEmails, 3)
	shared := map[string][2]string{}
	for _, s := range c.SharedEmails {
		shared[s.Email] = s.UserIDs
		assert.NotEqual(t, s.UserIDs[0], s.UserIDs[1])
	}
	for e, users := range d.byEmail {
		if len(users) > 1 {
			require.Contains(t, shared, e)
			pair := shared[e]
			assert.Equal(t, pair[:], users)
		}
	}
	assert.Len(t, shared, c.Counts.SharedEmails)

	// Respelled e-mails: later rows for the same user_id, or other files.
	require.NotEmpty(t, c.EmailVariants)
	later := 0
	for i, r := range d.crm {
		f := d.first[r.userID]
		if f == &d.crm[i] {
			continue
		}
		later++
		idx := slices.IndexFunc(c.EmailVariants, func(v EmailVariant) bool { return v.UserID == r.userID })
		require.GreaterOrEqual(t, idx, 0, "unexpected repeated user_id %s", r.userID)
		v := c.EmailVariants[idx]
		assert.Equal(t, []string{FileCRMProfiles}, v.Files)
		assert.Equal(t, v.Variant, r.email)
		assert.Equal(t, f.email, v.Email)
		assert.NotEqual(t, f.email, r.email)
		assert.Equal(t, f.email, normEmail(r.email))
		assert.Equal(t, []string{f.phone, f.first, f.last, f.country, f.tz, f.age, f.signup},
			[]string{r.phone, r.first, r.last, r.country, r.tz, r.age, r.signup})
		assert.True(t, parseTime(t, r.updated).After(parseTime(t, f.updated)), "a later row is newer")
	}
	assert.Positive(t, later)
	for _, v := range c.EmailVariants {
		assert.NotEqual(t, v.Email, v.Variant)
		assert.Equal(t, v.Email, normEmail(v.Variant))
		assert.NotEqual(t, strings.TrimSpace(v.Variant), v.Variant, "surrounding white space")
		assert.NotEqual(t, strings.ToLower(strings.TrimSpace(v.Variant)), strings.TrimSpace(v.Variant), "case")
	}
	assert.InDelta(t, 0.01, float64(c.Counts.EmailVariants)/1000, 0.006)
}

func TestWebEvents(t *testing.T) {
	d := loadDataset(t)
	c := d.m.Cases
	identified := map[string]int{}
	for _, u := range d.anonUser {
		identified[u]++
	}
	assert.Equal(t, c.Counts.Identified, len(identified))
	assert.InDelta(t, 0.5, float64(len(identified))/1000, 0.06)
	two := 0
	for _, n := range identified {
		if n == 2 {
			two++
		}
	}
	assert.Equal(t, c.Counts.TwoDevices, two)

	props := map[string][]string{
		"page_viewed":      {"path", "referrer"},
		"product_viewed":   {"sku", "price", "category", "currency"},
		"added_to_cart":    {"sku", "price", "quantity", "currency"},
		"checkout_started": {"cart_value", "currency", "items"},
		"purchase":         {"order_id", "amount", "currency", "sku", "quantity", "channel"},
	}
	seen := map[string][]byte{}
	var dups []string
	lastTS := map[string]time.Time{}
	anons := map[string]bool{}
	yearAgo := d.now.Add(-365 * 24 * time.Hour)
	for _, line := range d.webLines {
		var v struct {
			AnonymousID string         `json:"anonymous_id"`
			Event       string         `json:"event"`
			Timestamp   string         `json:"timestamp"`
			Properties  map[string]any `json:"properties"`
			MessageID   string         `json:"message_id"`
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&v), string(line))
		require.NotEmpty(t, v.AnonymousID, "every event has an identity")
		require.True(t, strings.HasPrefix(v.MessageID, "web-"))
		if prev, ok := seen[v.MessageID]; ok {
			assert.Equal(t, prev, line, "a duplicated message_id repeats the same line")
			dups = append(dups, v.MessageID)
			continue
		}
		seen[v.MessageID] = line
		anons[v.AnonymousID] = true
		ts := parseTime(t, v.Timestamp)
		assert.True(t, ts.Before(d.now) && !ts.Before(yearAgo), v.Timestamp)
		assert.False(t, ts.Before(lastTS[v.AnonymousID]), "events of %s in time order", v.AnonymousID)
		lastTS[v.AnonymousID] = ts
		want, ok := props[v.Event]
		require.True(t, ok, v.Event)
		var keys []string
		for k := range v.Properties {
			keys = append(keys, k)
		}
		assert.ElementsMatch(t, want, keys, v.Event)
		if v.Event == "purchase" {
			assert.Equal(t, "web", v.Properties["channel"])
		}
	}
	assert.Equal(t, c.DuplicateMessageIDs, dups)
	assert.GreaterOrEqual(t, len(dups), 3)
	only := 0
	for a := range anons {
		if _, ok := d.anonUser[a]; !ok {
			only++
		}
	}
	for a := range d.anonUser {
		assert.True(t, anons[a], "identified device %s has web events", a)
	}
	assert.Equal(t, c.Counts.AnonymousOnly, only)
	assert.Equal(t, c.Counts.AnonymousIDs, len(anons))
	assert.InDelta(t, 0.2, float64(only)/float64(len(anons)), 0.05, "anonymous-only share of anonymous ids")
}

func TestStorePurchases(t *testing.T) {
	d := loadDataset(t)
	dir := d.dir
	header, rows := readCSV(t, filepath.Join(dir, FileStorePurchases))
	require.Equal(t, []string{"phone", "event", "timestamp", "properties", "message_id"}, header)
	e164 := regexp.MustCompile(`^\+[1-9]\d{7,14}$`)
	walk := map[string]bool{}
	ids := map[string]bool{}
	for _, r := range rows {
		require.Regexp(t, e164, r[0])
		assert.Equal(t, "purchase", r[1])
		ts := parseTime(t, r[2])
		assert.True(t, ts.Before(d.now), r[2])
		assert.Regexp(t, `[+]0[78]:00$`, r[2], "store local offset")
		var p map[string]any
		require.NoError(t, json.Unmarshal([]byte(r[3]), &p))
		assert.Equal(t, "store", p["channel"])
		for _, k := range []string{"store", "amount", "currency", "sku"} {
			assert.Contains(t, p, k)
		}
		assert.False(t, ids[r[4]], "message_id %s repeated", r[4])
		ids[r[4]] = true
		if _, ok := d.byPhone[r[0]]; !ok {
			walk[r[0]] = true
		}
	}
	var walkIns []string
	for p := range walk {
		walkIns = append(walkIns, p)
	}
	assert.ElementsMatch(t, d.m.Cases.WalkInPhones, walkIns)
	assert.Positive(t, len(walkIns))
}

func TestEmailEngagement(t *testing.T) {
	d := loadDataset(t)
	dir := d.dir
	header, rows := readCSV(t, filepath.Join(dir, FileEmailEngagement))
	require.Equal(t, []string{"email", "event", "timestamp", "properties", "message_id"}, header)
	ids := map[string]bool{}
	variants := 0
	for _, r := range rows {
		u := d.userOfEmail(t, r[0])
		if r[0] != normEmail(r[0]) {
			variants++
			idx := slices.IndexFunc(d.m.Cases.EmailVariants, func(v EmailVariant) bool { return v.UserID == u })
			require.GreaterOrEqual(t, idx, 0, r[0])
			assert.Equal(t, r[0], d.m.Cases.EmailVariants[idx].Variant)
		}
		assert.Contains(t, []string{"email_opened", "email_clicked"}, r[1])
		assert.True(t, parseTime(t, r[2]).Before(d.now))
		var p map[string]string
		require.NoError(t, json.Unmarshal([]byte(r[3]), &p))
		assert.NotEmpty(t, p["campaign"])
		if r[1] == "email_clicked" {
			assert.True(t, strings.HasPrefix(p["link"], "https://"), p["link"])
		}
		assert.False(t, ids[r[4]])
		ids[r[4]] = true
	}
	assert.Positive(t, variants, "some engagement rows use respelled e-mails")
	for _, v := range d.m.Cases.EmailVariants {
		used := slices.ContainsFunc(rows, func(r []string) bool { return r[0] == v.Variant })
		assert.Equal(t, slices.Contains(v.Files, FileEmailEngagement), used, "%s in %s", v.Variant, FileEmailEngagement)
	}
}

type consentRow struct {
	line                                      int
	user                                      string
	purpose, channel, status, version, source string
	at, expires                               time.Time
}

// evalConsent re-implements the consent rule of docs/consent.md for the test (no version config).
func evalConsent(rows []consentRow, purpose, channel string, at time.Time) (bool, *consentRow) {
	var dec *consentRow
	deny := false
	for i := range rows {
		r := &rows[i]
		if r.at.After(at) || (r.purpose != purpose && r.purpose != "*") || (r.channel != channel && r.channel != "*") {
			continue
		}
		if dec == nil || r.at.After(dec.at) {
			dec, deny = r, r.status != "granted"
		} else if r.at.Equal(dec.at) && r.status != "granted" {
			deny = true
		}
	}
	if dec == nil || deny || (!dec.expires.IsZero() && !at.Before(dec.expires)) {
		return false, dec
	}
	return true, dec
}

func TestConsents(t *testing.T) {
	d := loadDataset(t)
	c := d.m.Cases
	dir := d.dir
	header, rows := readCSV(t, filepath.Join(dir, FileConsents))
	require.Equal(t, []string{"user_id", "email", "purpose", "channel", "status", "timestamp", "version", "source",
		"expires_at"}, header)
	versions := map[string][]string{"marketing": {"", "2025-01", "2026-06"}, "personalisation": {"", "v1", "v2"},
		"analytics": {""}, "transactional": {""}}
	byUser := map[string][]consentRow{}
	var order []string
	sources := map[string]bool{}
	byEmailRows := 0
	for i, r := range rows {
		require.True(t, (r[0] == "") != (r[1] == ""), "line %d: exactly one identity", i+2)
		user := r[0]
		if user == "" {
			user = d.userOfEmail(t, r[1])
			byEmailRows++
		} else {
			require.Contains(t, d.first, user)
		}
		assert.Contains(t, versions, r[2])
		assert.Contains(t, []string{"email", "sms", "push", "line", "*"}, r[3])
		assert.Contains(t, []string{"granted", "denied", "withdrawn"}, r[4])
		assert.Contains(t, versions[r[2]], r[6], "line %d", i+2)
		assert.Contains(t, []string{"signup_form", "preference_centre", "pos", "import", "line_follow"}, r[7])
		sources[r[7]] = true
		cr := consentRow{line: i + 2, user: user, purpose: r[2], channel: r[3], status: r[4], version: r[6],
			source: r[7], at: parseTime(t, r[5])}
		require.True(t, cr.at.Before(d.now))
		if r[8] != "" {
			cr.expires = parseTime(t, r[8])
			assert.True(t, cr.expires.After(cr.at))
		}
		if len(order) == 0 || order[len(order)-1] != user {
			require.NotContains(t, byUser, user, "a person's history is contiguous")
			order = append(order, user)
		}
		if prev := byUser[user]; len(prev) > 0 {
			assert.False(t, cr.at.Before(prev[len(prev)-1].at), "line %d: history in time order", i+2)
		}
		byUser[user] = append(byUser[user], cr)
	}
	assert.Len(t, byUser, 1000, "every customer has a consent history")
	for _, v := range c.EmailVariants {
		used := slices.ContainsFunc(rows, func(r []string) bool { return r[1] == v.Variant })
		assert.Equal(t, slices.Contains(v.Files, FileConsents), used, "%s in %s", v.Variant, FileConsents)
	}
	assert.Len(t, sources, 5)
	assert.Positive(t, byEmailRows)

	var ties []ConsentTie
	granted, granted2026, withdrew, regranted, expired, wildcard := 0, 0, 0, 0, 0, 0
	for _, user := range order {
		hist := byUser[user]
		for j := 1; j < len(hist); j++ {
			a, b := hist[j-1], hist[j]
			if a.at.Equal(b.at) && a.purpose == b.purpose && a.channel == b.channel {
				assert.Equal(t, []string{"withdrawn", "granted"}, []string{a.status, b.status})
				ties = append(ties, ConsentTie{UserID: user, Purpose: a.purpose, Channel: a.channel,
					Timestamp: a.at.Format(time.RFC3339)})
			}
		}
		ok, dec := evalConsent(hist, "marketing", "email", d.now)
		if ok {
			granted++
			if dec.version == "2026-06" {
				granted2026++
			}
		}
		sawWithdrawal, sawRegrant, sawExpired, sawWildcard := false, false, false, false
		for _, r := range hist {
			if r.purpose != "marketing" {
				if r.status == "granted" && !r.expires.IsZero() && r.expires.Before(d.now) {
					sawExpired = true
				}
				continue
			}
			switch {
			case r.status == "withdrawn" && r.channel == "email":
				sawWithdrawal = true
			case r.status == "granted" && sawWithdrawal && r.channel == "email":
				sawRegrant = true
			}
			if r.channel == "*" && r.status == "granted" {
				sawWildcard = true
			}
			if r.status == "granted" && !r.expires.IsZero() && r.expires.Before(d.now) {
				sawExpired = true
			}
		}
		for _, f := range []struct {
			ok bool
			n  *int
		}{{sawWithdrawal, &withdrew}, {sawRegrant, &regranted}, {sawExpired, &expired}, {sawWildcard, &wildcard}} {
			if f.ok {
				*f.n++
			}
		}
	}
	assert.Equal(t, c.ConsentTies, ties)
	assert.GreaterOrEqual(t, len(ties), 3)
	for _, tie := range ties {
		ok, _ := evalConsent(byUser[tie.UserID], "marketing", "email", d.now)
		assert.False(t, ok, "tie of %s goes to the withdrawal", tie.UserID)
	}
	assert.Equal(t, c.Counts.MarketingEmailGranted, granted)
	assert.Equal(t, c.Counts.MarketingEmailGranted2026, granted2026)
	assert.InDelta(t, 0.70, float64(granted)/1000, 0.05, "marketing/email granted at Now")
	assert.InDelta(t, 0.10, float64(withdrew)/1000, 0.06, "withdrew marketing e-mail")
	assert.Positive(t, regranted)
	assert.Positive(t, expired)
	assert.Positive(t, wildcard)
}

// TestSegment checks the headline segment of the brief by resolving
// identities from the files alone:
// country == "TH" and age >= 25 and count(purchases in the last 30 days) >= 2.
func TestSegment(t *testing.T) {
	d := loadDataset(t)
	dir := d.dir
	recent := map[string]int{}
	cutoff := d.now.Add(-30 * 24 * time.Hour)
	_, rows := readCSV(t, filepath.Join(dir, FileStorePurchases))
	for _, r := range rows {
		if u, ok := d.byPhone[r[0]]; ok && parseTime(t, r[2]).After(cutoff) {
			recent[u]++
		}
	}
	seen := map[string]bool{}
	for _, line := range d.webLines {
		var v struct {
			AnonymousID string `json:"anonymous_id"`
			Event       string `json:"event"`
			Timestamp   string `json:"timestamp"`
			MessageID   string `json:"message_id"`
		}
		require.NoError(t, json.Unmarshal(line, &v))
		if seen[v.MessageID] {
			continue
		}
		seen[v.MessageID] = true
		if u, ok := d.anonUser[v.AnonymousID]; ok && v.Event == "purchase" && parseTime(t, v.Timestamp).After(cutoff) {
			recent[u]++
		}
	}
	match, thAdults := 0, 0
	for u, r := range d.first {
		age, err := strconv.Atoi(r.age)
		if r.country != "TH" || err != nil || age < 25 {
			continue
		}
		thAdults++
		if recent[u] >= 2 {
			match++
		}
	}
	assert.Equal(t, d.m.Cases.Counts.RecentTHBuyers, match)
	assert.InDelta(t, 0.10, float64(match)/float64(thAdults), 0.05, "share of Thai customers aged 25+")
}

func TestLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large data set")
	}
	dir := t.TempDir()
	m, err := Write(dir, Options{Profiles: 60_000, Seed: 3})
	require.NoError(t, err)
	assert.InDelta(t, 10, float64(m.Cases.Counts.Events)/60_000, 1.0)
	_, rows := readCSV(t, filepath.Join(dir, FileCRMProfiles))
	users := map[string]bool{}
	emails := map[string]int{}
	phones := map[string]bool{}
	for _, r := range rows {
		if users[r[0]] {
			continue
		}
		users[r[0]] = true
		emails[normEmail(r[1])]++
		if r[2] != "" {
			p := normPhone(r[2], r[5])
			require.False(t, phones[p], "phone %s twice", p)
			phones[p] = true
		}
	}
	shared := 0
	for _, n := range emails {
		require.LessOrEqual(t, n, 2)
		if n == 2 {
			shared++
		}
	}
	assert.Equal(t, m.Cases.Counts.SharedEmails, shared)
	for _, p := range m.Cases.WalkInPhones {
		require.False(t, phones[p], "walk-in phone %s belongs to a customer", p)
	}
	ids := map[string]bool{}
	re := regexp.MustCompile(`"message_id":"([^"]+)"`)
	dups := 0
	for _, line := range readLines(t, filepath.Join(dir, FileWebEvents)) {
		id := string(re.FindSubmatch(line)[1])
		if ids[id] {
			dups++
		}
		ids[id] = true
	}
	assert.Equal(t, m.Cases.Counts.DuplicateMessageIDs, dups)
}
