package journeys

import (
	"context"
	"database/sql"
	"time"

	"github.com/tactcdp/tact/engine"
)

// VersionInfo is one version in a listing.
type VersionInfo struct {
	Version     int       `json:"version"`
	PublishedAt time.Time `json:"published_at"`
	// Active is how many people are inside on this version.
	Active int64 `json:"active"`
}

// Info describes a journey: its versions and state.
type Info struct {
	Name           string        `json:"name"`
	Purpose        string        `json:"purpose"`
	Entry          EntryKind     `json:"entry"`
	CurrentVersion int           `json:"current_version"`
	State          string        `json:"state"`
	Health         string        `json:"health"`
	LastError      string        `json:"last_error,omitempty"`
	LastRunAt      *time.Time    `json:"last_run_at,omitempty"`
	MissedSlots    int64         `json:"missed_slots"`
	Versions       []VersionInfo `json:"versions"`
}

// Journey states.
const (
	StateActive = "active"
	StatePaused = "paused"
)

// List describes every journey, by name.
func (r *Runner) List(ctx context.Context) ([]Info, error) {
	var out []Info
	if err := eachRow(ctx, r.db, q("list_journeys"), nil, func(rows *sql.Rows) error {
		var i Info
		var lastErr sql.NullString
		var lastRun sql.NullTime
		var entry string
		if err := rows.Scan(&i.Name, &i.CurrentVersion, &i.State, &i.Health, &lastErr, &lastRun, &i.MissedSlots, &i.Purpose, &entry); err != nil {
			return err
		}
		i.LastError, i.Entry = lastErr.String, EntryKind(entry)
		if lastRun.Valid {
			t := lastRun.Time
			i.LastRunAt = &t
		}
		out = append(out, i)
		return nil
	}); err != nil {
		return nil, err
	}
	for k := range out {
		if err := eachRow(ctx, r.db, q("list_versions"), []any{out[k].Name}, func(vr *sql.Rows) error {
			var v VersionInfo
			if err := vr.Scan(&v.Version, &v.PublishedAt, &v.Active); err != nil {
				return err
			}
			out[k].Versions = append(out[k].Versions, v)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Get describes one journey.
func (r *Runner) Get(ctx context.Context, name string) (Info, error) {
	all, err := r.List(ctx)
	if err != nil {
		return Info{}, err
	}
	for _, i := range all {
		if i.Name == name {
			return i, nil
		}
	}
	return Info{}, &NotFoundError{Name: name}
}

// PauseAs is Pause on behalf of actor, written to the audit log.
func (r *Runner) PauseAs(ctx context.Context, name, actor string) error {
	return r.setStateAs(ctx, name, StatePaused, actor)
}

// ResumeAs is Resume on behalf of actor, written to the audit log.
func (r *Runner) ResumeAs(ctx context.Context, name, actor string) error {
	return r.setStateAs(ctx, name, StateActive, actor)
}

func (r *Runner) setStateAs(ctx context.Context, name, state, actor string) error {
	if err := r.setState(ctx, name, state); err != nil {
		return err
	}
	return r.store.RecordAudit(ctx, actor, engine.AuditJourneyState, "journey:"+name, map[string]any{"journey": name, "state": state})
}

// Pause stops entries and step processing of a journey; sends already in
// the outbox still go out. Resume continues where people were.
func (r *Runner) Pause(ctx context.Context, name string) error {
	return r.setState(ctx, name, StatePaused)
}

// Resume undoes Pause.
func (r *Runner) Resume(ctx context.Context, name string) error {
	return r.setState(ctx, name, StateActive)
}

func (r *Runner) setState(ctx context.Context, name, state string) error {
	return r.write(ctx, func(t *tx) error {
		n, err := t.exec(q("set_state"), state, r.now(), name)
		if err != nil {
			return err
		}
		if n == 0 {
			return &NotFoundError{Name: name}
		}
		return nil
	})
}
