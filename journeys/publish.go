package journeys

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// ValidateConfig is what Validate and Publish check specs against.
func (r *Runner) ValidateConfig() ValidateConfig {
	vc := ValidateConfig{Templates: r.cfg.Templates, Expressions: r.eval}
	for _, p := range r.store.Policy().Purposes() {
		vc.Purposes = append(vc.Purposes, p.Name)
	}
	vc.Channels = consent.Channels()
	for n := range r.chans {
		if !contains(vc.Channels, n) {
			vc.Channels = append(vc.Channels, n)
		}
	}
	return vc
}

// Validate parses and checks a journey file.
func (r *Runner) Validate(file string, src []byte) (*Spec, error) {
	return Parse(file, src, r.ValidateConfig())
}

// Version describes one published version.
type Version struct {
	Journey     string    `json:"journey"`
	Version     int       `json:"version"`
	Purpose     string    `json:"purpose"`
	Entry       EntryKind `json:"entry"`
	PublishedAt time.Time `json:"published_at"`
	// Unchanged is set by Publish when the source equals the latest version.
	Unchanged bool `json:"unchanged,omitempty"`
}

// Publish validates src and stores it as the journey's next immutable
// version. People already inside finish on the version they entered; new
// entries use the new version. Publishing the same source again is a no-op.
func (r *Runner) Publish(ctx context.Context, file string, src []byte) (Version, error) {
	return r.PublishAs(ctx, file, src, Publisher{Actor: "operator", Admin: true})
}

// Publisher is who publishes a journey.
type Publisher struct {
	// Actor names them in the audit log ("api:ops", "operator").
	Actor string
	// Admin: they hold the admin role. Only an admin may publish or change
	// a transactional journey, which skips marketing consent.
	Admin bool
}

// ForbiddenError is a publish refused by a governance rule.
type ForbiddenError struct {
	Journey string
	Rule    string
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("journeys: %s: %s", e.Journey, e.Rule)
}

// ruleTransactionalAdmin is the rule a non-admin meets publishing a
// transactional journey.
const ruleTransactionalAdmin = "publishing or changing a transactional journey needs the admin role (it skips marketing consent, caps, quiet hours and the holdout)"

// PublishAs is Publish for p: a transactional journey (the new version's
// purpose, or the current one's) needs an admin, and every publish or
// refusal of one is written to the audit log.
func (r *Runner) PublishAs(ctx context.Context, file string, src []byte, p Publisher) (Version, error) {
	spec, err := r.Validate(file, src)
	if err != nil {
		return Version{}, err
	}
	var current string
	if err := r.db.QueryRowContext(ctx, `SELECT v.purpose FROM journeys j JOIN journey_versions v ON v.journey = j.name AND v.version = j.current_version WHERE j.name = ?`,
		spec.Name).Scan(&current); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Version{}, err
	}
	transactional := spec.Transactional() || current == PurposeTransactional
	if transactional && !p.Admin {
		ferr := &ForbiddenError{Journey: spec.Name, Rule: ruleTransactionalAdmin}
		if err := r.store.RecordAudit(ctx, p.Actor, engine.AuditJourneyRefused, "journey:"+spec.Name,
			map[string]any{"journey": spec.Name, "purpose": spec.Purpose, "rule": "transactional_needs_admin"}); err != nil {
			return Version{}, errors.Join(ferr, err)
		}
		return Version{}, ferr
	}
	sum := sha256.Sum256(src)
	hash := hex.EncodeToString(sum[:])
	now := r.now()
	v := Version{Journey: spec.Name, Purpose: spec.Purpose, Entry: spec.Entry.Kind, PublishedAt: now}
	err = r.write(ctx, func(t *tx) error {
		var cur sql.NullInt64
		var curHash sql.NullString
		var at sql.NullTime
		if err := t.conn.QueryRowContext(ctx, q("latest_version"), spec.Name).Scan(&cur, &curHash, &at); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur.Valid && curHash.String == hash {
			v.Version, v.Unchanged, v.PublishedAt = int(cur.Int64), true, at.Time
			return nil
		}
		v.Version = int(cur.Int64) + 1
		if _, err := t.exec(q("insert_version"), spec.Name, v.Version, string(src), hash, spec.Purpose, string(spec.Entry.Kind), now); err != nil {
			return err
		}
		n, err := t.exec(q("update_journey_version"), v.Version, now, spec.Name)
		if err != nil {
			return err
		}
		if n == 0 {
			if _, err := t.exec(q("insert_journey"), spec.Name, v.Version, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && !v.Unchanged {
		r.log.Info("journey published", "journey", v.Journey, "version", v.Version)
		err = r.store.RecordAudit(ctx, p.Actor, engine.AuditJourneyPublished, "journey:"+spec.Name,
			map[string]any{"journey": spec.Name, "version": v.Version, "purpose": spec.Purpose})
	}
	return v, err
}

// spec loads (and caches) a published version's spec.
func (r *Runner) spec(ctx context.Context, name string, version int) (*Spec, error) {
	key := name + "\x00" + strconv.Itoa(version)
	if s, ok := r.specs.Load(key); ok {
		return s.(*Spec), nil
	}
	var src string
	if err := r.db.QueryRowContext(ctx, q("version_source"), name, version).Scan(&src); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &NotFoundError{Name: fmt.Sprintf("%s v%d", name, version)}
		}
		return nil, err
	}
	vc := r.ValidateConfig()
	vc.Templates = nil // a published version stays runnable
	vc.Expressions = syntaxChecker{}
	spec, err := Parse(name, []byte(src), vc)
	if err != nil {
		return nil, fmt.Errorf("journey %s v%d no longer parses: %w", name, version, err)
	}
	r.specs.Store(key, spec)
	return spec, nil
}
