package consent

import (
	"fmt"
	"slices"
	"time"
)

// Status is the state an entry records.
type Status string

// Entry statuses.
const (
	Granted   Status = "granted"
	Denied    Status = "denied"
	Withdrawn Status = "withdrawn"
)

// Wildcard matches every purpose or every channel.
const Wildcard = "*"

// Channels returns the known channel names.
func Channels() []string { return []string{"email", "sms", "push", "line", "webhook"} }

// Transactional is the built-in purpose no wildcard entry covers: a
// withdraw-all ("*" purpose) stops everything but the messages a person
// needs to complete what they asked for.
const Transactional = "transactional"

// BuiltinPurposes are always known, whatever the configuration says.
func BuiltinPurposes() []string {
	return []string{"marketing", "transactional", "analytics", "personalisation"}
}

// ValidStatus reports whether s is one of the three statuses.
func ValidStatus(s Status) bool { return s == Granted || s == Denied || s == Withdrawn }

// denies reports whether the status blocks contact.
func (s Status) denies() bool { return s != Granted }

// Entry is one consent ledger entry as the evaluator sees it.
type Entry struct {
	Seq           int64     `json:"seq"`
	Purpose       string    `json:"purpose"`
	Channel       string    `json:"channel"`
	Status        Status    `json:"status"`
	EffectiveAt   time.Time `json:"effective_at"`
	RecordedAt    time.Time `json:"recorded_at"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"` // zero: never expires
	NoticeVersion string    `json:"notice_version,omitempty"`
	Source        string    `json:"source,omitempty"`
	Actor         string    `json:"actor,omitempty"`
}

// Reason explains a decision. Journeys record it for every skipped send.
type Reason string

// Decision reasons.
const (
	ReasonGranted           Reason = "granted"
	ReasonNoEntry           Reason = "no_consent"
	ReasonDenied            Reason = "denied"
	ReasonWithdrawn         Reason = "withdrawn"
	ReasonExpired           Reason = "expired"
	ReasonReconsentRequired Reason = "reconsent_required"
	ReasonUnknownPurpose    Reason = "unknown_purpose"
	ReasonUnknownChannel    Reason = "unknown_channel"
)

// Decision is the outcome of Evaluate.
type Decision struct {
	Granted bool   `json:"granted"`
	Reason  Reason `json:"reason"`
	// Entry is the deciding entry, nil when none matched.
	Entry *Entry `json:"entry,omitempty"`
}

// NoticeVersion is one version of a purpose's privacy notice.
type NoticeVersion struct {
	Version string `yaml:"version" json:"version"`
	// RequiresReconsent makes grants given under any earlier version (or
	// under no version) no longer count.
	RequiresReconsent bool `yaml:"requires_reconsent" json:"requires_reconsent"`
}

// Purpose is a configured purpose with its notice versions, oldest first.
type Purpose struct {
	Name        string          `yaml:"name" json:"name"`
	Description string          `yaml:"description" json:"description,omitempty"`
	Versions    []NoticeVersion `yaml:"versions" json:"versions,omitempty"`
}

// Policy is the set of known purposes. The zero value knows the built-in
// purposes with no notice versions.
type Policy struct {
	purposes map[string]Purpose
}

// NewPolicy returns a policy knowing the built-in purposes plus extra ones.
// A configured purpose with a built-in name adds notice versions to it.
func NewPolicy(extra []Purpose) (Policy, error) {
	p := Policy{purposes: map[string]Purpose{}}
	for _, name := range BuiltinPurposes() {
		p.purposes[name] = Purpose{Name: name}
	}
	for i, pu := range extra {
		if pu.Name == "" || pu.Name == Wildcard {
			return Policy{}, fmt.Errorf("purposes[%d].name: must be a non-empty name other than %q", i, Wildcard)
		}
		seen := map[string]bool{}
		for j, v := range pu.Versions {
			if v.Version == "" {
				return Policy{}, fmt.Errorf("purposes[%d].versions[%d].version: required", i, j)
			}
			if seen[v.Version] {
				return Policy{}, fmt.Errorf("purposes[%d].versions[%d].version: %q listed twice", i, j, v.Version)
			}
			seen[v.Version] = true
		}
		p.purposes[pu.Name] = pu
	}
	return p, nil
}

// Known reports whether purpose is configured or built in.
func (p Policy) Known(purpose string) bool {
	if p.purposes == nil {
		return slices.Contains(BuiltinPurposes(), purpose)
	}
	_, ok := p.purposes[purpose]
	return ok
}

// Purposes lists the known purposes, sorted by name.
func (p Policy) Purposes() []Purpose {
	if p.purposes == nil {
		p, _ = NewPolicy(nil)
	}
	out := make([]Purpose, 0, len(p.purposes))
	for _, pu := range p.purposes {
		out = append(out, pu)
	}
	slices.SortFunc(out, func(a, b Purpose) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// KnownChannel reports whether ch is a channel name.
func KnownChannel(ch string) bool { return slices.Contains(Channels(), ch) }

// acceptedVersions says which notice versions still count for purpose:
// all (any=true), or those listed plus, if nullOK, entries without a version.
func (p Policy) acceptedVersions(purpose string) (any bool, versions []string, nullOK bool) {
	pu := p.purposes[purpose]
	last := -1
	for i, v := range pu.Versions {
		if v.RequiresReconsent {
			last = i
		}
	}
	if last < 0 {
		return true, nil, true
	}
	for _, v := range pu.Versions[last:] {
		versions = append(versions, v.Version)
	}
	return false, versions, false
}

func (p Policy) versionCounts(purpose, version string) bool {
	any, versions, nullOK := p.acceptedVersions(purpose)
	if any {
		return true
	}
	if version == "" {
		return nullOK
	}
	return slices.Contains(versions, version)
}

// Evaluate decides consent for one person from their ledger entries (in any
// order) for purpose on channel at instant at. It is the only function that
// makes this decision in Go; GrantSQL is the same rule in SQL.
//
// An entry matches when its purpose is purpose or "*" (a wildcard purpose
// never covers transactional) and its channel is channel or "*", and it is
// effective at at. An entry with purpose "*" and channel "*" is therefore a
// withdraw-all when it withdraws or denies: every non-transactional purpose
// on every channel, including channels the person has no address for.
//
// Supersession: a matching withdrawal or denial supersedes every matching
// entry recorded before it (RecordedAt strictly earlier), whatever that
// entry's effective time, so a grant imported in June with effect from
// December does not come back to life after a withdrawal recorded in July.
// Among the entries left, the latest by Later decides: it must be a grant,
// unexpired at at, under a notice version that still counts. No matching
// entry, an unknown purpose or channel: not granted (default deny).
func Evaluate(p Policy, entries []Entry, purpose, channel string, at time.Time) Decision {
	if purpose == Wildcard || !p.Known(purpose) {
		return Decision{Reason: ReasonUnknownPurpose}
	}
	if !KnownChannel(channel) {
		return Decision{Reason: ReasonUnknownChannel}
	}
	matches := func(e *Entry) bool {
		return (e.Purpose == purpose || (e.Purpose == Wildcard && purpose != Transactional)) &&
			(e.Channel == channel || e.Channel == Wildcard) && !e.EffectiveAt.After(at)
	}
	var cut time.Time // the latest recording of a matching denial
	for i := range entries {
		if e := &entries[i]; matches(e) && e.Status.denies() && e.RecordedAt.After(cut) {
			cut = e.RecordedAt
		}
	}
	var best *Entry
	for i := range entries {
		e := &entries[i]
		if !matches(e) || e.RecordedAt.Before(cut) {
			continue
		}
		if best == nil || Later(*e, *best) {
			best = e
		}
	}
	if best == nil {
		return Decision{Reason: ReasonNoEntry}
	}
	d := Decision{Entry: best, Reason: p.reason(*best, purpose, at)}
	d.Granted = d.Reason == ReasonGranted
	return d
}

// reason says what the deciding entry means at instant at.
func (p Policy) reason(e Entry, purpose string, at time.Time) Reason {
	switch {
	case e.Status == Withdrawn:
		return ReasonWithdrawn
	case e.Status != Granted:
		return ReasonDenied
	case !e.ExpiresAt.IsZero() && !at.Before(e.ExpiresAt):
		return ReasonExpired
	case !p.versionCounts(purpose, e.NoticeVersion):
		return ReasonReconsentRequired
	}
	return ReasonGranted
}

// Later reports whether a takes precedence over b: it is effective later, or
// at the same instant it denies while b grants, or, all else equal, it was
// appended later.
func Later(a, b Entry) bool {
	if !a.EffectiveAt.Equal(b.EffectiveAt) {
		return a.EffectiveAt.After(b.EffectiveAt)
	}
	if a.Status.denies() != b.Status.denies() {
		return a.Status.denies()
	}
	return a.Seq > b.Seq
}
