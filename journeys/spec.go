package journeys

import (
	"fmt"
	"time"

	"github.com/tactcdp/tact/engine/duration"
)

// Purposes a journey may declare. Any purpose known to the consent policy is
// accepted; transactional journeys bypass marketing consent, caps, quiet
// hours and the holdout, never suppressions.
const (
	PurposeMarketing     = "marketing"
	PurposeTransactional = "transactional"
)

// EntryKind says how people enter a journey.
type EntryKind string

// Entry kinds.
const (
	EntrySegment  EntryKind = "segment"
	EntryEvent    EntryKind = "event"
	EntrySchedule EntryKind = "schedule"
	EntryAPI      EntryKind = "api"
)

// StepKind is the kind of one step.
type StepKind string

// Step kinds.
const (
	StepSend    StepKind = "send"
	StepWait    StepKind = "wait"
	StepBranch  StepKind = "branch"
	StepSplit   StepKind = "split"
	StepUpdate  StepKind = "update"
	StepWebhook StepKind = "webhook"
	StepExit    StepKind = "exit"
)

// ReentryMode says whether a person may enter again.
type ReentryMode string

// Re-entry modes.
const (
	ReentryNever  ReentryMode = "never"
	ReentryAlways ReentryMode = "always"
	ReentryAfter  ReentryMode = "after"
)

// Missed-run policies for schedule entries.
const (
	MissedRunOnce = "run_once"
	MissedSkip    = "skip"
)

// DefaultSegmentCheck is the cron spec on which a segment entry is
// re-checked when the spec gives none.
const DefaultSegmentCheck = "*/15 * * * *"

// DefaultMissedDeadline is how late a missed schedule slot may still run.
const DefaultMissedDeadline = time.Hour

// Spec is a parsed journey definition (one YAML document). See
// testdata/journeys/README.md for the format.
type Spec struct {
	Name        string
	Description string
	Purpose     string
	Entry       Entry
	Reentry     Reentry
	// Exit is an expression (docs/expressions.md); a person for whom it is true
	// leaves the journey at their next step.
	Exit string
	// Goal is an expression; a person for whom it is true converts and
	// leaves the journey at their next step.
	Goal  string
	Steps []Step

	index map[string]int
}

// Transactional reports whether the journey bypasses marketing rules.
func (s *Spec) Transactional() bool { return s.Purpose == PurposeTransactional }

// Step returns the step with id, or nil.
func (s *Spec) Step(id string) *Step {
	if s.index == nil {
		s.buildIndex()
	}
	i, ok := s.index[id]
	if !ok {
		return nil
	}
	return &s.Steps[i]
}

func (s *Spec) buildIndex() {
	s.index = make(map[string]int, len(s.Steps))
	for i, st := range s.Steps {
		if _, dup := s.index[st.ID]; !dup {
			s.index[st.ID] = i
		}
	}
}

// First is the id of the first step ("" for a journey without steps).
func (s *Spec) First() string {
	if len(s.Steps) == 0 {
		return ""
	}
	return s.Steps[0].ID
}

// NextOf is where a person goes after step id on its default path: the
// step's next, or the following step in the list, or "" (the end).
func (s *Spec) NextOf(id string) string {
	if s.index == nil {
		s.buildIndex()
	}
	i, ok := s.index[id]
	if !ok {
		return ""
	}
	if n := s.Steps[i].Next; n != "" {
		if n == EndStep {
			return ""
		}
		return n
	}
	if i+1 < len(s.Steps) {
		return s.Steps[i+1].ID
	}
	return ""
}

// Channels lists the channels the journey's send and webhook steps use.
func (s *Spec) Channels() []string {
	seen := map[string]bool{}
	var out []string
	for _, st := range s.Steps {
		ch := st.Channel
		if st.Kind == StepWebhook {
			ch = "webhook"
		}
		if ch != "" && !seen[ch] {
			seen[ch] = true
			out = append(out, ch)
		}
	}
	return out
}

// EndStep may be used as a next/goto target to finish the journey.
const EndStep = "end"

// Entry is how people enter.
type Entry struct {
	Kind EntryKind
	// Segment (segment entry) is the expression whose members enter when
	// they become members.
	Segment string
	// Check is the cron spec on which a segment entry is recomputed.
	// Default DefaultSegmentCheck.
	Check string
	// Event (event entry) is the event name; Where an optional condition on
	// the event, an expression over event, timestamp and properties.
	Event string
	Where string
	// Schedule (schedule entry) is a cron spec, CRON_TZ= allowed; everyone
	// in Audience (an expression; empty = every profile) enters at each slot.
	Schedule string
	Audience string
	// Missed is the missed-run policy of a schedule entry: run_once (the
	// latest missed slot runs if it is at most Deadline late) or skip.
	Missed   string
	Deadline time.Duration
}

// Reentry says whether a person may enter again.
type Reentry struct {
	Mode  ReentryMode
	After time.Duration
}

// Step is one node of the journey graph.
type Step struct {
	ID   string
	Kind StepKind
	// Next overrides the default successor (the following step). "end"
	// finishes the journey.
	Next string

	// send
	Channel  string
	Template string

	// wait: exactly one of Duration, Until (HH:MM in the person's zone),
	// Event or Condition. Event and Condition waits end at Timeout and
	// continue at OnTimeout (default: Next).
	Duration  time.Duration
	Until     string
	Event     string
	Condition string
	Timeout   time.Duration
	OnTimeout string

	// branch: the first arm whose If is true; Else otherwise (default Next).
	Branches []Arm
	Else     string

	// split: sticky random percentages.
	Split []SplitArm

	// update: traits to set.
	Set map[string]any

	// webhook: the URL to POST to (through the webhook channel).
	URL string
}

// Arm is one branch arm.
type Arm struct {
	If   string
	Goto string
}

// SplitArm is one split arm.
type SplitArm struct {
	Percent int
	Goto    string
}

// WaitKind classifies a wait step.
func (s *Step) WaitKind() string {
	switch {
	case s.Event != "":
		return "event"
	case s.Condition != "":
		return "condition"
	case s.Until != "":
		return "until"
	default:
		return "duration"
	}
}

// ParseDuration parses durations as journeys write them (wait durations,
// timeouts, re-entry `after:`, missed-run deadlines): the one syntax of
// package engine/duration, a number and a unit among s m h d w, terms
// combinable ("30d", "90m", "1w2d", "1h30m"). Errors are *duration.Error.
func ParseDuration(s string) (time.Duration, error) { return duration.Parse(s) }

// parseClock parses "HH:MM" into minutes after midnight.
func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}
