package sample

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// renderREADME writes testdata/sample/README.md from the manifest and the
// generated files, so the ids it cites always match the committed data.
func renderREADME(t *testing.T, dir string, m Manifest) string {
	t.Helper()
	c := m.Cases
	n := c.Counts
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	rows := map[string]int{}
	for _, f := range m.Files {
		rows[f.Name] = f.Rows
	}

	p(`# Sample data

Synthetic first-party data of a Thai/South-East-Asian retailer with customers worldwide, written by
package `+"`engine/sample`"+` as `+"`sample.Write(dir, sample.Options{})`"+`: 1000 CRM customers, seed 1, reference
instant **Now = %s** (all timestamps lie in the year before it; run segment
tests with `+"`--now %s`"+` / `+"`TACT_NOW`"+`). Do not edit these files by hand; regenerate with

    go test ./engine/sample/ -run TestGolden -update

Larger sets: `+"`sample.Write(dir, sample.Options{Profiles: 1_000_000})`"+` (about 10 M events, 2.8 GB).
E-mail addresses use reserved example domains; phone numbers are valid-format but random mobile
numbers, so never point a real SMS provider at this data.

## Files, in import order

| file | import as | rows | keyed by | contents |
|---|---|---:|---|---|
| `+"`crm_profiles.csv`"+` | profiles | %d | `+"`user_id`"+` + `+"`email`"+` (+ `+"`phone`"+`) | CRM export: first_name, last_name, country (ISO-2), timezone (IANA), age, plan, ltv, signup_at, vip, updated_at |
| `+"`web_identify.jsonl`"+` | profiles | %d | `+"`anonymous_id`"+` + `+"`user_id`"+` (+ `+"`device_token`"+`) | identify calls: tags (list of strings), preferred_language, updated_at |
| `+"`web_events.jsonl`"+` | events | %d | `+"`anonymous_id`"+` only | page_viewed, product_viewed, added_to_cart, checkout_started, purchase (`+"`channel: web`"+`) |
| `+"`store_purchases.csv`"+` | events | %d | `+"`phone`"+` (E.164) | purchase at the till (`+"`channel: store`"+`), timestamps in the store's UTC offset |
| `+"`email_engagement.csv`"+` | events | %d | `+"`email`"+` | email_opened {campaign}, email_clicked {campaign, link} |
| `+"`consents.csv`"+` | consents | %d | `+"`user_id`"+`, or `+"`email`"+` for e-mail-platform rows | grants, denials, withdrawals; version, source, expires_at |

Conventions: an empty CSV field or an absent JSON key means *missing*. Thai customers' phones are
in local format (`+"`081-234-5678`"+` or `+"`0812345678`"+`, country TH) and normalise to
`+"`+66812345678`"+`, the form `+"`store_purchases.csv`"+` uses; other phones are already E.164.
Some names are in Thai or Japanese script. Time zones include DST zones (Europe/London,
Europe/Berlin, America/*); about 3%% of customers have no time zone and 5%% no age.

## Expected figures

- Profiles after importing everything: **%d** = 1000 CRM customers + %d anonymous-only visitors
  (web ids that never identify) + %d walk-in phones (store purchases of no CRM customer).
- Distinct events: **%d** (%d rows minus %d duplicated lines).
- %d customers identified on the web (%d of them with two devices); %d anonymous ids in all.
- `+"`country == \"TH\" and age >= 25 and count(events, .event == \"purchase\" and .timestamp > ago(\"30d\")) >= 2`"+`
  at Now: **%d** profiles%s.
- marketing/email granted at Now: **%d** customers with no notice version requiring re-consent;
  **%d** if marketing notice `+"`2026-06`"+` requires re-consent (only grants under 2026-06 survive).

`,
		DefaultNow().Format(time.RFC3339), DefaultNow().Format(time.RFC3339),
		rows[FileCRMProfiles], rows[FileWebIdentify], rows[FileWebEvents], rows[FileStorePurchases],
		rows[FileEmailEngagement], rows[FileConsents],
		n.Profiles, n.AnonymousOnly, n.WalkInPhones,
		n.Events, rows[FileWebEvents]+rows[FileStorePurchases]+rows[FileEmailEngagement], n.DuplicateMessageIDs,
		n.Identified, n.TwoDevices, n.AnonymousIDs,
		n.RecentTHBuyers, exampleList(" (e.g. ", recentBuyers(t, dir), 5, ")"),
		n.MarketingEmailGranted, n.MarketingEmailGranted2026)

	p("## Identity edge cases\n\n")
	p("**Shared family e-mails** — two different `user_id`s with one address in `crm_profiles.csv`. They must stay\n" +
		"two profiles; the second link is refused and logged. Neither person appears in e-mail-keyed files.\n\n")
	p("| email | user_ids |\n|---|---|\n")
	for _, s := range c.SharedEmails {
		p("| `%s` | %s, %s |\n", s.Email, s.UserIDs[0], s.UserIDs[1])
	}
	p("\n**Respelled e-mails** — the same person's address with other letter case and surrounding spaces\n" +
		"(shown quoted). They must resolve to the customer's profile. In `crm_profiles.csv` the respelled row\n" +
		"is a later row for the same `user_id` with an upgraded plan, a higher ltv and a newer `updated_at`\n" +
		"(recency must win); otherwise the respelling keys that person's rows in the files listed.\n\n")
	p("| user_id | CRM e-mail | respelled | in |\n|---|---|---|---|\n")
	for _, v := range c.EmailVariants {
		p("| %s | `%s` | `%q` | %s |\n", v.UserID, v.Email, v.Variant, strings.Join(v.Files, ", "))
	}
	p("\n**Duplicated message ids** — these `web_events.jsonl` lines appear twice, byte for byte (a retried\n" +
		"delivery at the end of the person's batch); each must be stored once.\n\n")
	for _, id := range c.DuplicateMessageIDs {
		p("- `%s`\n", id)
	}
	p("\n**Walk-in phones** — store purchases of people not in the CRM; each becomes a profile keyed by phone.\n\n")
	p("%s\n", exampleList("", quoteAll(c.WalkInPhones), len(c.WalkInPhones), ""))
	p("\n**Anonymous visitors** — %d of the %d anonymous ids in `web_events.jsonl` never identify.\n"+
		"Pre-identify browsing of identified devices must join the customer's profile.\n\n", n.AnonymousOnly, n.AnonymousIDs)

	p("## Consent edge cases\n\n")
	p("**Ties** — a marketing/email withdrawal and grant with the same timestamp, the grant written on the\n" +
		"later line. Ties go to the withdrawal: not granted at Now.\n\n")
	p("| user_id | purpose | channel | timestamp |\n|---|---|---|---|\n")
	for _, tie := range c.ConsentTies {
		p("| %s | %s | %s | %s |\n", tie.UserID, tie.Purpose, tie.Channel, tie.Timestamp)
	}
	p("\nOther features, with a few customers showing each:\n\n")
	for _, f := range consentFeatures(t, dir) {
		p("- %s: %s\n", f.what, exampleList("", f.users, 5, ""))
	}
	p(`
Notice versions: marketing ` + "`2025-01`" + ` (from 2025-01-01) and ` + "`2026-06`" + ` (from 2026-06-01), with
unversioned legacy grants imported from before 2025; personalisation ` + "`v1`" + ` and ` + "`v2`" + ` (from
2026-03-01). Sources: ` + "`signup_form`" + `, ` + "`preference_centre`" + `, ` + "`pos`" + `, ` + "`import`" + `. E-mail campaigns reach a
customer only while marketing/email is granted.
`)
	return b.String()
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + x + "`"
	}
	return out
}

func exampleList(prefix string, xs []string, max int, suffix string) string {
	if len(xs) == 0 {
		return ""
	}
	more := ""
	if len(xs) > max {
		xs, more = xs[:max], ", …"
	}
	return prefix + strings.Join(xs, ", ") + more + suffix
}

// recentBuyers lists the customers matching the README's segment, from the
// files alone.
func recentBuyers(t *testing.T, dir string) []string {
	t.Helper()
	_, crm := readCSV(t, filepath.Join(dir, FileCRMProfiles))
	type cust struct {
		country string
		age     int
	}
	custs := map[string]cust{}
	phone := map[string]string{}
	var order []string
	for _, r := range crm {
		if _, ok := custs[r[0]]; ok {
			continue
		}
		age, _ := strconv.Atoi(r[7])
		custs[r[0]] = cust{r[5], age}
		order = append(order, r[0])
		if r[2] != "" {
			phone[normPhone(r[2], r[5])] = r[0]
		}
	}
	anon := map[string]string{}
	for _, line := range readLines(t, filepath.Join(dir, FileWebIdentify)) {
		a, u := jsonField(line, "anonymous_id"), jsonField(line, "user_id")
		anon[a] = u
	}
	cutoff := DefaultNow().Add(-30 * 24 * time.Hour)
	recent := map[string]int{}
	_, store := readCSV(t, filepath.Join(dir, FileStorePurchases))
	for _, r := range store {
		if ts, _ := time.Parse(time.RFC3339, r[2]); ts.After(cutoff) {
			recent[phone[r[0]]]++
		}
	}
	seen := map[string]bool{}
	for _, line := range readLines(t, filepath.Join(dir, FileWebEvents)) {
		id := jsonField(line, "message_id")
		if seen[id] || jsonField(line, "event") != "purchase" {
			continue
		}
		seen[id] = true
		if ts, _ := time.Parse(time.RFC3339, jsonField(line, "timestamp")); ts.After(cutoff) {
			recent[anon[jsonField(line, "anonymous_id")]]++
		}
	}
	var out []string
	for _, u := range order {
		if c := custs[u]; c.country == "TH" && c.age >= 25 && recent[u] >= 2 {
			out = append(out, u)
		}
	}
	return out
}

// jsonField extracts a top-level string field from a generated JSON line.
func jsonField(line []byte, key string) string {
	s := string(line)
	i := strings.Index(s, `"`+key+`":"`)
	if i < 0 {
		return ""
	}
	s = s[i+len(key)+4:]
	return s[:strings.IndexByte(s, '"')]
}

type feature struct {
	what  string
	users []string
}

// consentFeatures finds customers whose consent history shows each feature.
func consentFeatures(t *testing.T, dir string) []feature {
	t.Helper()
	_, crm := readCSV(t, filepath.Join(dir, FileCRMProfiles))
	byEmail := map[string]string{}
	for _, r := range crm {
		if _, ok := byEmail[normEmail(r[1])]; !ok {
			byEmail[normEmail(r[1])] = r[0]
		}
	}
	_, rows := readCSV(t, filepath.Join(dir, FileConsents))
	now := DefaultNow()
	fs := []feature{
		{what: "marketing/email withdrawn later", users: nil},
		{what: "withdrawn, then granted again", users: nil},
		{what: "denied at sign-up, granted later (pos or preference centre)", users: nil},
		{what: "re-consented to marketing notice 2026-06", users: nil},
		{what: "legacy unversioned marketing grant (source import)", users: nil},
		{what: "marketing/email grant already expired at Now", users: nil},
		{what: "marketing/sms opt-in at the till expiring after six months", users: nil},
		{what: "`marketing`/`*` (all channels) granted", users: nil},
		{what: "`marketing`/`*` withdrawn", users: nil},
		{what: "personalisation v1 then v2", users: nil},
		{what: "analytics grant expired at Now", users: nil},
		{what: "marketing/push (customers with a device_token)", users: nil},
		{what: "marketing and transactional e-mail rows keyed by `email`", users: nil},
	}
	add := func(k int, u string) {
		if !slices.Contains(fs[k].users, u) {
			fs[k].users = append(fs[k].users, u)
		}
	}
	state := map[string]string{} // user -> last marketing/email status
	persV1 := map[string]bool{}
	for _, r := range rows {
		u := r[0]
		if u == "" {
			u = byEmail[normEmail(r[1])]
			add(12, u)
		}
		exp := time.Time{}
		if r[8] != "" {
			exp, _ = time.Parse(time.RFC3339, r[8])
		}
		expired := !exp.IsZero() && exp.Before(now)
		switch key := r[2] + "/" + r[3] + "/" + r[4]; {
		case key == "marketing/email/withdrawn":
			add(0, u)
			state[u] = "withdrawn"
		case key == "marketing/email/granted":
			switch state[u] {
			case "withdrawn":
				add(1, u)
			case "denied":
				add(2, u)
			case "granted":
				if r[6] == "2026-06" {
					add(3, u)
				}
			}
			if state[u] == "" && r[6] == "" && r[7] == "import" {
				add(4, u)
			}
			if expired {
				add(5, u)
			}
			state[u] = "granted"
		case key == "marketing/email/denied":
			state[u] = "denied"
		case key == "marketing/sms/granted" && r[7] == "pos" && r[8] != "":
			add(6, u)
		case key == "marketing/*/granted":
			add(7, u)
		case key == "marketing/*/withdrawn":
			add(8, u)
		case key == "personalisation/*/granted":
			if r[6] == "v2" && persV1[u] {
				add(9, u)
			}
			persV1[u] = r[6] == "v1"
		case key == "analytics/*/granted" && expired:
			add(10, u)
		case strings.HasPrefix(key, "marketing/push/"):
			add(11, u)
		}
	}
	return fs
}
