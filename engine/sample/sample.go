package sample

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Defaults used when an Options field is zero.
const (
	DefaultProfiles         = 1000
	DefaultSeed             = 1
	DefaultEventsPerProfile = 10

	// MaxProfiles bounds Options.Profiles: phone numbers, anonymous ids and
	// e-mail addresses are unique by construction up to this size.
	MaxProfiles = 5_000_000

	// MaxCaseExamples bounds each list in Cases; the counts in CaseCounts
	// are always complete.
	MaxCaseExamples = 1000
)

// DefaultNow is the reference instant used when Options.Now is zero.
func DefaultNow() time.Time { return time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC) }

// Options control the size and randomness of a generated data set.
type Options struct {
	// Profiles is the number of CRM customers; default 1000.
	Profiles int
	// Seed selects the data set; default 1. Zero means the default, so seed
	// 0 cannot be requested.
	Seed uint64
	// Now is the reference instant: events span the year before it and
	// every timestamp lies strictly before it. It is truncated to whole
	// seconds and read in UTC. Default 2026-11-01T00:00:00Z.
	Now time.Time
	// EventsPerProfile is the average number of events per customer across
	// all event files (anonymous visitors' events included); default 10.
	EventsPerProfile int
	// Progress, when set, is told how many of the Profiles people have
	// been written, every few thousand and at the end.
	Progress func(done, total int)
}

// File kinds: the `tact import` subcommand a file is meant for.
const (
	KindProfiles = "profiles"
	KindEvents   = "events"
	KindConsents = "consents"
)

// File names, listed in import order.
const (
	FileCRMProfiles     = "crm_profiles.csv"
	FileWebIdentify     = "web_identify.jsonl"
	FileWebEvents       = "web_events.jsonl"
	FileStorePurchases  = "store_purchases.csv"
	FileEmailEngagement = "email_engagement.csv"
	FileConsents        = "consents.csv"
)

// File is one generated file.
type File struct {
	Name string // base name inside the output directory
	Kind string // KindProfiles, KindEvents or KindConsents
	Rows int    // data rows (CSV header excluded)
}

// Manifest describes what Write produced.
type Manifest struct {
	// Files in the order they must be imported: profiles, then events,
	// then consents.
	Files []File
	// Cases lists the deliberate edge cases and the expected figures.
	Cases Cases
}

// Cases records the deliberate identity and consent edge cases of a data set,
// so that tests can refer to them without re-deriving them from the files.
// Each list holds at most MaxCaseExamples entries; Counts are complete.
type Cases struct {
	// SharedEmails are family addresses: two different user_ids with the same
	// e-mail in crm_profiles.csv. They must stay two profiles (the second
	// link is refused and logged). Neither person appears in e-mail keyed
	// files.
	SharedEmails []SharedEmail
	// EmailVariants are e-mails spelled with different case and surrounding
	// white space for the same person. They must resolve to one profile.
	EmailVariants []EmailVariant
	// ConsentTies are marketing/email entries where a withdrawal and a grant
	// share one timestamp (the grant is the later line in the file). Ties go
	// to the withdrawal: not granted at Now.
	ConsentTies []ConsentTie
	// DuplicateMessageIDs are message_ids written twice (byte-identical lines)
	// in web_events.jsonl; each must be stored once.
	DuplicateMessageIDs []string
	// WalkInPhones are E.164 phones in store_purchases.csv that belong to no
	// CRM customer; each becomes a profile of its own.
	WalkInPhones []string
	// Counts are the complete figures.
	Counts CaseCounts
}

// CaseCounts are the complete sizes of the edge-case lists and expected
// results that follow from the generated data.
type CaseCounts struct {
	SharedEmails        int
	EmailVariants       int
	ConsentTies         int
	DuplicateMessageIDs int
	WalkInPhones        int

	// Identified is the number of CRM customers with at least one
	// web_identify row; TwoDevices of them have two anonymous ids.
	Identified int
	TwoDevices int
	// AnonymousIDs counts distinct anonymous ids in web_events.jsonl;
	// AnonymousOnly of them never identify and stay anonymous profiles.
	AnonymousIDs  int
	AnonymousOnly int
	// Profiles expected after importing everything: CRM customers +
	// anonymous-only visitors + walk-in phones.
	Profiles int
	// Events is the number of distinct events (duplicates counted once).
	Events int

	// RecentTHBuyers is the number of profiles matching
	//   country == "TH" and age >= 25 and
	//   count(events, .event == "purchase" and .timestamp > ago("30d")) >= 2
	// at Now, once identities are resolved.
	RecentTHBuyers int
	// MarketingEmailGranted is the number of CRM customers whose
	// marketing/email consent evaluates to granted at Now with no notice
	// version requiring re-consent; MarketingEmailGranted2026 of them hold
	// a grant under the 2026-06 marketing notice (what remains when 2026-06
	// is configured requires_reconsent).
	MarketingEmailGranted     int
	MarketingEmailGranted2026 int
	// LINEUsers is the number of CRM customers with a LINE user id
	// (line_user_id in crm_profiles.csv); MarketingLINEGranted of them
	// have marketing/line consent granted at Now.
	LINEUsers            int
	MarketingLINEGranted int
}

// SharedEmail is one family address.
type SharedEmail struct {
	Email   string
	UserIDs [2]string
}

// EmailVariant is one person whose e-mail appears in a second spelling.
type EmailVariant struct {
	UserID  string
	Email   string   // as in the person's first crm_profiles.csv row
	Variant string   // the other spelling, exactly as written
	Files   []string // files where Variant appears
}

// ConsentTie is one same-instant grant/withdrawal pair.
type ConsentTie struct {
	UserID    string
	Purpose   string
	Channel   string
	Timestamp string // RFC 3339
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Profiles < 0:
		return o, fmt.Errorf("sample: negative Profiles %d", o.Profiles)
	case o.Profiles > MaxProfiles:
		return o, fmt.Errorf("sample: Profiles %d exceeds MaxProfiles %d", o.Profiles, MaxProfiles)
	case o.EventsPerProfile < 0:
		return o, fmt.Errorf("sample: negative EventsPerProfile %d", o.EventsPerProfile)
	}
	if o.Profiles == 0 {
		o.Profiles = DefaultProfiles
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.EventsPerProfile == 0 {
		o.EventsPerProfile = DefaultEventsPerProfile
	}
	if o.Now.IsZero() {
		o.Now = DefaultNow()
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	if o.Now.Year() < 2001 || o.Now.Year() > 9000 {
		return o, fmt.Errorf("sample: Now %s out of range", o.Now.Format(time.RFC3339))
	}
	return o, nil
}

// fileSpecs lists the files in import order with their CSV header (nil for
// JSON Lines).
func fileSpecs() []struct {
	name, kind, header string
} {
	return []struct{ name, kind, header string }{
		{FileCRMProfiles, KindProfiles,
			"user_id,email,phone,first_name,last_name,country,timezone,age,plan,ltv,signup_at,vip,updated_at,line_user_id\n"},
		{FileWebIdentify, KindProfiles, ""},
		{FileWebEvents, KindEvents, ""},
		{FileStorePurchases, KindEvents, "phone,event,timestamp,properties,message_id\n"},
		{FileEmailEngagement, KindEvents, "email,event,timestamp,properties,message_id\n"},
		{FileConsents, KindConsents,
			"user_id,email,purpose,channel,status,timestamp,version,source,expires_at\n"},
	}
}

// indexes into generator.out, in fileSpecs order
const (
	outCRM = iota
	outIdentify
	outWeb
	outStore
	outEmail
	outConsents
	numOutputs
)

// Write generates the data set described by opts into dir (created if
// needed), replacing files of the same names. Rows are streamed through
// buffered writers, so memory stays flat whatever the size. Each file is
// written under a temporary name and renamed into place only when all of
// them are complete. The same Options always produce byte-identical files.
func Write(dir string, opts Options) (Manifest, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return Manifest{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Manifest{}, fmt.Errorf("sample: %w", err)
	}
	specs := fileSpecs()
	w := newWriter()
	outs := make([]*output, 0, len(specs))
	removeAll := func() {
		for _, out := range outs {
			_ = out.f.Close()
			_ = os.Remove(out.f.Name())
		}
	}
	for _, s := range specs {
		f, err := os.CreateTemp(dir, "."+s.name+".*.tmp")
		if err != nil {
			_ = w.close()
			removeAll()
			return Manifest{}, fmt.Errorf("sample: %w", err)
		}
		out := &output{name: s.name, kind: s.kind, f: f, w: w, buf: w.fresh()}
		outs = append(outs, out)
		out.raw([]byte(s.header))
	}

	g := newGenerator(o, outs)
	g.run()

	for _, out := range outs {
		out.flush()
	}
	errs := []error{w.close()}
	for _, out := range outs {
		errs = append(errs, out.f.Chmod(0o644), out.f.Close())
	}
	if err := errors.Join(errs...); err != nil {
		removeAll()
		return Manifest{}, fmt.Errorf("sample: %w", err)
	}
	m := Manifest{Cases: g.cases}
	for _, out := range outs {
		if err := os.Rename(out.f.Name(), filepath.Join(dir, out.name)); err != nil {
			removeAll()
			return Manifest{}, fmt.Errorf("sample: %w", err)
		}
		m.Files = append(m.Files, File{Name: out.name, Kind: out.kind, Rows: out.rows})
	}
	return m, nil
}
