package channels

import (
	"fmt"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// QuietHours is a daily period in the recipient's local time during which
// marketing messages are held. Start and End are "HH:MM"; a period that
// wraps midnight (Start > End) is the usual case: {"21:00", "08:00"} allows
// marketing from 08:00 to 21:00 (the SMS rule). Equal Start and End, or both
// empty, mean no quiet hours.
type QuietHours struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// DefaultSMSQuietHours holds SMS marketing outside 08:00–21:00 local time.
var DefaultSMSQuietHours = QuietHours{Start: "21:00", End: "08:00"} //nolint:gochecknoglobals // read-only after initialisation

func parseHHMM(s string) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 23 || m > 59 || h < 0 || m < 0 {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	return h*60 + m, nil
}

// Validate checks the "HH:MM" syntax.
func (q QuietHours) Validate() error {
	if q.Start == "" && q.End == "" {
		return nil
	}
	if _, err := parseHHMM(q.Start); err != nil {
		return err
	}
	_, err := parseHHMM(q.End)
	return err
}

func (q QuietHours) bounds() (start, end int, ok bool) {
	s, err1 := parseHHMM(q.Start)
	e, err2 := parseHHMM(q.End)
	if err1 != nil || err2 != nil || s == e {
		return 0, 0, false
	}
	return s, e, true
}

// Quiet reports whether t falls in the quiet period in loc (nil = UTC).
func (q QuietHours) Quiet(t time.Time, loc *time.Location) bool {
	s, e, ok := q.bounds()
	if !ok {
		return false
	}
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	if s < e {
		return m >= s && m < e
	}
	return m >= s || m < e
}

// NextAllowed returns t when t is outside the quiet period in loc, else the
// first instant after it at which the period ends (End on the right local
// day; across a DST change the wall clock End is honoured).
func (q QuietHours) NextAllowed(t time.Time, loc *time.Location) time.Time {
	if !q.Quiet(t, loc) {
		return t
	}
	_, e, _ := q.bounds()
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	for d := 0; d <= 2; d++ {
		day := lt.AddDate(0, 0, d)
		c := time.Date(day.Year(), day.Month(), day.Day(), e/60, e%60, 0, 0, loc)
		if c.After(t) && !q.Quiet(c, loc) {
			return c
		}
	}
	return t.Add(24 * time.Hour) // unreachable for valid bounds
}

// NextAllowedAll returns the earliest instant ≥ t that is outside the quiet
// period in every zone of locs, for a recipient whose zone is unknown
// ("hold until inside the window everywhere plausible"). ok is false when
// the zones never share an allowed minute within 48 hours.
func (q QuietHours) NextAllowedAll(t time.Time, locs []*time.Location) (time.Time, bool) {
	if len(locs) == 0 {
		return q.NextAllowed(t, time.UTC), true
	}
	cand := t
	for i := 0; i < 4*len(locs)+4; i++ {
		moved := false
		for _, l := range locs {
			if n := q.NextAllowed(cand, l); n.After(cand) {
				cand, moved = n, true
			}
		}
		if !moved {
			return cand, true
		}
		if cand.Sub(t) > 48*time.Hour {
			break
		}
	}
	return time.Time{}, false
}

// PlausibleZones returns the IANA zones a phone number may be in, from its
// country code and prefix (e.g. ["Asia/Bangkok"] for +66...). Unknown or
// unparsable numbers give nil.
func PlausibleZones(e164 string) []*time.Location {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return nil
	}
	names, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil {
		return nil
	}
	var out []*time.Location
	for _, n := range names {
		if l, err := time.LoadLocation(n); err == nil {
			out = append(out, l)
		}
	}
	return out
}
