package journeys

import (
	"sync"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine/eligibility"
)

// Skip and hold reasons recorded in the step log and the outbox: the
// eligibility decision's (package engine/eligibility), which decides them.
const (
	ReasonNoConsent    = eligibility.NoConsent
	ReasonWithdrawn    = eligibility.Withdrawn
	ReasonExpired      = eligibility.Expired
	ReasonObjected     = eligibility.Objected
	ReasonRestricted   = eligibility.Restricted
	ReasonSuppressed   = eligibility.Suppressed
	ReasonUnreachable  = eligibility.Unreachable
	ReasonFrequencyCap = eligibility.FrequencyCap
	ReasonQuietHours   = eligibility.QuietHours
	ReasonHoldout      = eligibility.Holdout
)

// PolicyConfig is the send policy applied across journeys at dispatch.
// Transactional journeys bypass caps, quiet hours and the holdout (and
// marketing consent), never suppressions.
type PolicyConfig struct {
	// Caps limits marketing sends per person per channel per local day
	// (the person's time zone; UTC when unknown), counted across all
	// journeys. A send over the cap is skipped with reason frequency_cap.
	// Default: no caps.
	Caps map[string]int `yaml:"caps"`
	// QuietHours per channel holds marketing sends until the window opens
	// in the person's zone. This is the only place quiet hours are set.
	// Default: sms and line 21:00–08:00 (channels.DefaultSMSQuietHours),
	// none elsewhere; a channel given {} has none.
	QuietHours map[string]channels.QuietHours `yaml:"quiet_hours"`
	// RatePerSecond spreads each channel's sends evenly at this rate
	// (0 = unlimited). Default: unlimited.
	RatePerSecond map[string]float64 `yaml:"rate_per_second"`
	// HoldoutPercent keeps this share of people (Bucket(id, 100) < N) out of
	// every marketing send, recorded as reason holdout. Default 0.
	HoldoutPercent int `yaml:"holdout_percent"`
	// FallbackZones are the zones assumed for a person whose time zone is
	// unknown and cannot be derived from a phone number: a send is held
	// until it is inside the window in all of them. Default: UTC.
	FallbackZones []string `yaml:"fallback_zones"`

	zones *zoneCache // set by New; nil loads zones uncached
}

func (p *PolicyConfig) quiet(channel string) (channels.QuietHours, bool) {
	if q, ok := p.QuietHours[channel]; ok {
		return q, q.Start != "" && q.Start != q.End
	}
	if channel == channels.SMS || channel == "line" {
		return channels.DefaultSMSQuietHours, true
	}
	return channels.QuietHours{}, false
}

// zoneCache remembers loaded time zones for one runner: time.LoadLocation
// reads the zone database on every call. Names come from validated profile
// time zones and configuration, so the set stays small.
type zoneCache struct {
	mu sync.Mutex
	m  map[string]*time.Location // nil for unknown
}

// loadZone loads an IANA zone; nil when unknown or empty.
func (c *zoneCache) loadZone(name string) *time.Location {
	if name == "" {
		return nil
	}
	if c != nil {
		c.mu.Lock()
		l, ok := c.m[name]
		c.mu.Unlock()
		if ok {
			return l
		}
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = nil
	}
	if c != nil {
		c.mu.Lock()
		c.m[name] = l
		c.mu.Unlock()
	}
	return l
}

// zonesFor returns the zones a person may be in: their own, else the
// plausible zones of their phone number, else the fallback zones.
func (p *PolicyConfig) zonesFor(tz, phone string) []*time.Location {
	if l := p.zones.loadZone(tz); l != nil {
		return []*time.Location{l}
	}
	if phone != "" {
		if z := channels.PlausibleZones(phone); len(z) > 0 {
			return z
		}
	}
	var out []*time.Location
	for _, n := range p.FallbackZones {
		if l := p.zones.loadZone(n); l != nil {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		out = []*time.Location{time.UTC}
	}
	return out
}

// heldUntil returns when a send at now may go out under the channel's quiet
// hours for a person in zones: now itself when allowed.
func (p *PolicyConfig) heldUntil(channel string, now time.Time, zones []*time.Location) time.Time {
	q, ok := p.quiet(channel)
	if !ok {
		return now
	}
	if len(zones) == 1 {
		return q.NextAllowed(now, zones[0])
	}
	t, ok := q.NextAllowedAll(now, zones)
	if !ok {
		// The zones never share an allowed minute: hold until the window
		// opens in the first of them, then re-check.
		return q.NextAllowed(now, zones[0])
	}
	return t
}

// capReached reports whether a person already has cap sends in the local
// day (in loc) containing now. sent holds their recent sends on the channel.
func capReached(cap int, now time.Time, loc *time.Location, sent []time.Time) bool {
	if cap <= 0 {
		return false
	}
	start, end := localDay(now, loc)
	n := 0
	for _, t := range sent {
		if !t.Before(start) && t.Before(end) {
			n++
		}
	}
	return n >= cap
}

// localDay returns the UTC bounds of the calendar day containing t in loc
// (23 or 25 hours long across a DST change).
func localDay(t time.Time, loc *time.Location) (time.Time, time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	start := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	end := time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc)
	return start.UTC(), end.UTC()
}

// nextTimeOfDay returns the first instant after now at which the wall clock
// in loc shows minutes-after-midnight m (a wait "until HH:MM"). A time in a
// spring-forward gap moves to the first instant after the gap.
func nextTimeOfDay(now time.Time, loc *time.Location, m int) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	lt := now.In(loc)
	for d := 0; d <= 2; d++ {
		c := time.Date(lt.Year(), lt.Month(), lt.Day()+d, m/60, m%60, 0, 0, loc)
		if c.After(now) {
			return c.UTC()
		}
	}
	return now.Add(24 * time.Hour)
}
