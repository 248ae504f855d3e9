package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine/duration"
)

// RetentionPolicy is the `retention:` section of tact.yaml: how long events
// (per event name) and trait values (per trait) are kept.
//
//	retention:
//	  events:
//	    page_viewed: 90d
//	    "*": 730d        # every other event
//	  traits:
//	    last_ip: 30d
//
// An event expires when its timestamp is older than its period. A trait
// value expires when the profile has not been updated (profiles.updated_at,
// the last time any import or rectification changed it) for the trait's
// period; Purge then clears the value (makes it missing). Names without a
// period, and no "*", are kept indefinitely.
type RetentionPolicy struct {
	Events map[string]Duration `yaml:"events" json:"events,omitempty"`
	Traits map[string]Duration `yaml:"traits" json:"traits,omitempty"`
}

// Empty reports whether the policy keeps everything.
func (p RetentionPolicy) Empty() bool { return len(p.Events) == 0 && len(p.Traits) == 0 }

// Duration is a retention period in the one duration syntax of package
// engine/duration with years: s, m, h, d (24 h), w (7 d) or y (365 d),
// e.g. "365d", "12w", "36h", "1y6w".
type Duration time.Duration

// maxRetention bounds a retention period.
const maxRetention = 200 * duration.Year

// ParseDuration parses a retention period: positive, at most 200 years.
func ParseDuration(s string) (Duration, error) {
	d, err := duration.Syntax{Years: true}.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("retention period: %w", err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("retention period %q: want a positive period, e.g. 365d", s)
	}
	if d > maxRetention {
		return 0, fmt.Errorf("retention period %q is too long (at most 200y)", s)
	}
	return Duration(d), nil
}

// UnmarshalText parses "365d" and the like (YAML and JSON strings).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText writes the period in days when whole, else as a Go duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d Duration) String() string {
	day := 24 * time.Hour
	if td := time.Duration(d); td%day == 0 {
		return fmt.Sprintf("%dd", td/day)
	}
	return time.Duration(d).String()
}

// Check validates the policy's trait names against a catalog (nil: skip).
func (p RetentionPolicy) check(traits map[string]TraitType) error {
	for name, d := range p.Events {
		if d <= 0 {
			return &ValidationError{Field: "retention.events." + name, Msg: "period must be positive"}
		}
	}
	for name, d := range p.Traits {
		if d <= 0 {
			return &ValidationError{Field: "retention.traits." + name, Msg: "period must be positive"}
		}
		if traits != nil {
			if _, ok := traits[name]; !ok && name != "*" {
				return &ValidationError{Field: "retention.traits." + name, Msg: "no such trait"}
			}
		}
	}
	return nil
}

// PurgeResult counts what Purge deleted.
type PurgeResult struct {
	At time.Time `json:"at"`
	// EventsDeleted counts deleted events per policy key (event name or "*").
	EventsDeleted map[string]int64 `json:"events_deleted"`
	// TraitsCleared counts profiles whose value of each trait was cleared.
	TraitsCleared map[string]int64 `json:"traits_cleared"`
	Compacted     bool             `json:"compacted"`
}

// PurgeOptions configure Purge.
type PurgeOptions struct {
	Actor string
	// Compact rewrites the database file afterwards so purged values leave
	// the file too (see Compact).
	Compact bool
	// Progress, if set, receives the rewrite's progress (see
	// WithCompactProgress). Default nil: no reports.
	Progress func(CompactProgress)
}

// Purge deletes what the retention policy says has expired at the store
// clock's now: events older than their event name's period (or "*"), and
// trait values of profiles not updated within the trait's period (or
// "*"). It is one transaction, audited with the counts. A trait named in
// the policy that does not exist is an error and nothing is deleted.
func (s *Store) Purge(ctx context.Context, policy RetentionPolicy, opts PurgeOptions) (PurgeResult, error) {
	types, err := s.traitTypes(ctx)
	if err != nil {
		return PurgeResult{}, err
	}
	if err := policy.check(types); err != nil {
		return PurgeResult{}, err
	}
	now := s.now()
	res := PurgeResult{At: now, EventsDeleted: map[string]int64{}, TraitsCleared: map[string]int64{}}
	err = s.write(ctx, func(w *writer) error {
		named := make([]string, 0, len(policy.Events))
		for name := range policy.Events {
			if name != "*" {
				named = append(named, name)
			}
		}
		sort.Strings(named)
		for _, name := range named {
			r, err := w.exec(`DELETE FROM events WHERE event = ? AND ts < ?`, name, now.Add(-time.Duration(policy.Events[name])))
			if err != nil {
				return fmt.Errorf("purge events %s: %w", name, err)
			}
			res.EventsDeleted[name], _ = r.RowsAffected()
		}
		if d, ok := policy.Events["*"]; ok {
			q := `DELETE FROM events WHERE ts < ?`
			args := []any{now.Add(-time.Duration(d))}
			if len(named) > 0 {
				q += ` AND event NOT IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(named)), ", ") + `)`
				for _, n := range named {
					args = append(args, n)
				}
			}
			r, err := w.exec(q, args...)
			if err != nil {
				return fmt.Errorf("purge events: %w", err)
			}
			res.EventsDeleted["*"], _ = r.RowsAffected()
		}
		traitNames := make([]string, 0, len(types))
		for name := range types {
			traitNames = append(traitNames, name)
		}
		sort.Strings(traitNames)
		for _, name := range traitNames {
			d, ok := policy.Traits[name]
			if !ok {
				if d, ok = policy.Traits["*"]; !ok {
					continue
				}
			}
			q := quoteIdent(name)
			r, err := w.exec(fmt.Sprintf(`UPDATE profiles SET %s = NULL WHERE %s IS NOT NULL AND updated_at < ?`, q, q), now.Add(-time.Duration(d)))
			if err != nil {
				return fmt.Errorf("purge trait %s: %w", name, err)
			}
			if n, _ := r.RowsAffected(); n > 0 || policy.Traits[name] != 0 {
				res.TraitsCleared[name] = n
			}
		}
		return s.audit(w, orStr(opts.Actor, "retention"), AuditRetentionPurge, "retention", map[string]any{
			"events_deleted": res.EventsDeleted, "traits_cleared": res.TraitsCleared, "policy": policy})
	})
	if err != nil {
		return PurgeResult{}, err
	}
	s.log.Info("retention purge done", "event_keys", len(res.EventsDeleted), "trait_keys", len(res.TraitsCleared))
	if opts.Compact && s.path != MemoryPath {
		if err := s.Compact(ctx, WithCompactProgress(opts.Progress)); err != nil {
			return res, err
		}
		res.Compacted = true
	}
	return res, nil
}
