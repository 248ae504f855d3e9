package journeys

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/eligibility"
	"github.com/tactcdp/tact/segments"
)

// DefaultPreviewPeople is how many people a preview shows by default.
const DefaultPreviewPeople = 3

// ReasonRender is why a send that cannot be rendered would not go: the
// reason a real send records for it.
const ReasonRender = "render"

// ErrNoTemplates is a preview or test send without the templates the
// channels render (Config.Templates).
var ErrNoTemplates = errors.New("journeys: no templates loaded (give the templates folder)")

// PreviewOptions says whom a preview is for and who asks.
type PreviewOptions struct {
	// People is how many people to pick (default DefaultPreviewPeople).
	People int
	// ProfileIDs, when set, are the people to preview instead of picking.
	ProfileIDs []int64
	// Links builds the unsubscribe and preference links as the channels do.
	Links linktoken.Links
	// Actor names who previews in the audit log (default "operator").
	Actor string
}

// Preview is what a journey's send steps would send to real people right
// now. Building it writes nothing but the audit entries of the read.
type Preview struct {
	Journey string    `json:"journey"`
	Version int       `json:"version,omitempty"` // 0: a file, not published
	Purpose string    `json:"purpose"`
	Entry   EntryKind `json:"entry"`
	At      time.Time `json:"at"`
	// PeopleFrom says how the people were picked.
	PeopleFrom string        `json:"people_from"`
	People     []int64       `json:"people"`
	Steps      []PreviewStep `json:"steps"`
}

// PreviewStep is one send step and what each person would get.
type PreviewStep struct {
	Step     string        `json:"step"`
	Channel  string        `json:"channel"`
	Template string        `json:"template"`
	Sends    []PreviewSend `json:"sends"`
}

// PreviewSend is one person at one send step.
type PreviewSend struct {
	ProfileID int64  `json:"profile_id"`
	UserID    string `json:"user_id,omitempty"`
	// WouldSend: eligible and renderable. Otherwise Reason is what the
	// send would record: an eligibility reason (engine/eligibility) or
	// ReasonRender.
	WouldSend bool       `json:"would_send"`
	Reason    string     `json:"reason,omitempty"`
	HoldUntil *time.Time `json:"hold_until,omitempty"`
	// Missing are the fields printed without a value or default: the send
	// is refused with reason render, naming them.
	Missing []string `json:"missing,omitempty"`
	// RenderError is why the template did not render at all.
	RenderError string `json:"render_error,omitempty"`
	Subject     string `json:"subject,omitempty"`
	Preheader   string `json:"preheader,omitempty"`
	Title       string `json:"title,omitempty"`
	Text        string `json:"text,omitempty"`
	URL         string `json:"url,omitempty"`

	msg channels.Message // what the step would hand its channel
}

// previewPerson is one picked person with the payload their entry would
// carry (event properties, an api entry's payload).
type previewPerson struct {
	id      int64
	payload map[string]any
}

// PublishedSpec is the current version of the published journey name.
func (r *Runner) PublishedSpec(ctx context.Context, name string) (*Spec, int, error) {
	_, cur, err := r.journeyState(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	spec, err := r.spec(ctx, name, cur)
	return spec, cur, err
}

// Preview renders every send step of spec (version 0 for an unpublished
// file) for up to opts.People real people the journey would reach, with
// each person's eligibility (Runner.DecideOne, the one decision) and the
// fields their message would lack. Nothing is queued, sent or recorded
// except an audit entry per person read (engine.Store.RecordAccess).
func (r *Runner) Preview(ctx context.Context, spec *Spec, version int, opts PreviewOptions) (*Preview, error) {
	if r.cfg.Templates == nil {
		return nil, ErrNoTemplates
	}
	now := r.now()
	p := &Preview{Journey: spec.Name, Version: version, Purpose: spec.Purpose, Entry: spec.Entry.Kind, At: now}
	n := cmp.Or(opts.People, DefaultPreviewPeople)
	var people []previewPerson
	var err error
	if len(opts.ProfileIDs) > 0 {
		p.PeopleFrom = "the people asked for"
		for _, id := range opts.ProfileIDs {
			people = append(people, previewPerson{id: id})
		}
	} else if people, p.PeopleFrom, err = r.previewPeople(ctx, spec, n, now); err != nil {
		return nil, err
	}
	profiles := make([]engine.Profile, 0, len(people))
	payloads := make([]map[string]any, 0, len(people))
	for _, pp := range people {
		prof, err := r.store.Profile(ctx, pp.id)
		if errors.Is(err, engine.ErrNotFound) && len(opts.ProfileIDs) == 0 {
			continue // erased since their event or entry
		}
		if err != nil {
			return nil, err
		}
		if err := r.store.RecordAccess(ctx, engine.DataAccess{Actor: opts.Actor, What: "journey preview", ProfileID: pp.id,
			Purpose: spec.Purpose, Rows: 1}); err != nil {
			return nil, err
		}
		profiles = append(profiles, prof)
		payloads = append(payloads, pp.payload)
		p.People = append(p.People, pp.id)
	}
	for i := range spec.Steps {
		st := &spec.Steps[i]
		if st.Kind != StepSend {
			continue
		}
		ps := PreviewStep{Step: st.ID, Channel: st.Channel, Template: st.Template}
		for k, prof := range profiles {
			s, err := r.previewSend(ctx, spec, version, st, prof, payloads[k], now, opts.Links)
			if err != nil {
				return nil, fmt.Errorf("step %s: %w", st.ID, err)
			}
			ps.Sends = append(ps.Sends, s)
		}
		p.Steps = append(p.Steps, ps)
	}
	return p, nil
}

// previewSend decides and renders one person's message at one send step.
func (r *Runner) previewSend(ctx context.Context, spec *Spec, version int, st *Step, prof engine.Profile, payload map[string]any,
	now time.Time, links linktoken.Links) (PreviewSend, error) {
	s := PreviewSend{ProfileID: prof.ID, UserID: prof.UserID}
	d, err := r.DecideOne(ctx, eligibility.Request{Purpose: spec.Purpose, Channel: st.Channel, At: now}, prof.ID)
	if err != nil {
		return s, err
	}
	s.Reason = d.Reason
	if !d.HoldUntil.IsZero() {
		h := d.HoldUntil
		s.HoldUntil = &h
	}
	m := previewMessage(spec, version, st, prof, payload)
	s.msg = m
	out, missing, err := renderFor(r.cfg.Templates, st.Channel, m, now, links)
	var te *templates.Error
	switch {
	case errors.As(err, &te):
		s.RenderError = te.Error()
		s.Reason = cmp.Or(s.Reason, ReasonRender)
	case err != nil:
		return s, err
	default:
		s.Subject, s.Preheader, s.Title, s.Text, s.URL = out.Subject, out.Preheader, out.Title, out.Text, out.URL
	}
	s.Missing = missing
	if len(missing) > 0 {
		s.Reason = cmp.Or(s.Reason, ReasonRender)
	}
	s.WouldSend = s.Reason == ""
	return s, nil
}

// previewMessage is the message a send step would hand its channel for
// prof: the traits as the outbox reads them (every non-system profile
// column with a value).
func previewMessage(spec *Spec, version int, st *Step, prof engine.Profile, payload map[string]any) channels.Message {
	traits := make(map[string]any, len(prof.Traits))
	for k, v := range prof.Traits {
		traits[k] = plain(v)
	}
	return channels.Message{ProfileID: prof.ID, Journey: spec.Name, JourneyVersion: version, Step: st.ID,
		Purpose: spec.Purpose, Transactional: spec.Transactional(), Timezone: prof.Timezone, Template: st.Template,
		Traits: traits, Payload: payload}
}

// previewPeople picks up to n people the journey would reach: a segment
// entry's members, a schedule entry's audience (everyone without one),
// the people of the latest matching entry events (with the event as
// payload), or, for an api entry, the people who entered last (with their
// payload), else the first profiles.
func (r *Runner) previewPeople(ctx context.Context, spec *Spec, n int, now time.Time) ([]previewPerson, string, error) {
	switch spec.Entry.Kind {
	case EntrySegment, EntrySchedule:
		expr := spec.Entry.Segment
		if spec.Entry.Kind == EntrySchedule {
			expr = spec.Entry.Audience
		}
		if expr == "" {
			ids, err := r.firstProfiles(ctx, n)
			return ids, "every profile (no audience), lowest ids first", err
		}
		ids, err := r.eval.Members(ctx, expr, now)
		if err != nil {
			return nil, "", fmt.Errorf("entry: %w", err)
		}
		slices.Sort(ids)
		out := make([]previewPerson, 0, min(n, len(ids)))
		for _, id := range ids[:min(n, len(ids))] {
			out = append(out, previewPerson{id: id})
		}
		return out, "members of the entry expression, lowest ids first", nil
	case EntryEvent:
		out, err := r.previewEventPeople(ctx, spec, n, now)
		return out, "people of the latest " + spec.Entry.Event + " events that match the entry", err
	default:
		out, err := r.previewAPIPeople(ctx, spec.Name, n)
		if err != nil || len(out) > 0 {
			return out, "the people who entered last, with their payloads", err
		}
		out, err = r.firstProfiles(ctx, n)
		return out, "nobody has entered yet: the first profiles, without a payload", err
	}
}

// previewScan bounds how many entry events a preview looks at per person
// it shows: enough to find n people past the entry filter.
const previewScan = 50

func (r *Runner) previewEventPeople(ctx context.Context, spec *Spec, n int, now time.Time) ([]previewPerson, error) {
	var cands []previewPerson
	var subjects []Subject
	seen := map[int64]bool{}
	err := eachRow(ctx, r.db, q("preview_event_people"), []any{spec.Entry.Event, now, n * previewScan}, func(rows *sql.Rows) error {
		var id int64
		var ts time.Time
		var props sql.NullString
		if err := rows.Scan(&id, &ts, &props); err != nil {
			return err
		}
		if seen[id] {
			return nil
		}
		seen[id] = true
		pm := map[string]any{}
		if props.Valid {
			_ = json.Unmarshal([]byte(props.String), &pm)
		}
		cands = append(cands, previewPerson{id: id, payload: pm})
		subjects = append(subjects, Subject{ProfileID: id, EnteredAt: now, Payload: pm,
			Event: &segments.Event{Name: spec.Entry.Event, Timestamp: ts, Properties: pm}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cond := spec.Entry.Where; cond != "" && len(cands) > 0 {
		match, err := r.eval.MatchEvents(ctx, cond, subjects, now)
		if err != nil {
			return nil, fmt.Errorf("entry.where: %w", err)
		}
		kept := cands[:0]
		for i, ok := range match {
			if ok {
				kept = append(kept, cands[i])
			}
		}
		cands = kept
	}
	return cands[:min(n, len(cands))], nil
}

func (r *Runner) previewAPIPeople(ctx context.Context, journey string, n int) ([]previewPerson, error) {
	var out []previewPerson
	seen := map[int64]bool{}
	err := eachRow(ctx, r.db, q("preview_api_people"), []any{journey, n * previewScan}, func(rows *sql.Rows) error {
		var id int64
		var payload string
		if err := rows.Scan(&id, &payload); err != nil {
			return err
		}
		if seen[id] || len(out) >= n {
			return nil
		}
		seen[id] = true
		pp := previewPerson{id: id}
		if payload != "" {
			_ = json.Unmarshal([]byte(payload), &pp.payload)
		}
		out = append(out, pp)
		return nil
	})
	return out, err
}

func (r *Runner) firstProfiles(ctx context.Context, n int) ([]previewPerson, error) {
	var out []previewPerson
	err := eachRow(ctx, r.db, q("preview_first_people"), []any{n}, func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		out = append(out, previewPerson{id: id})
		return err
	})
	return out, err
}
