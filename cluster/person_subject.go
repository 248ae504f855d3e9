package cluster

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tactcdp/tact/engine"
)

// Each events-stream message goes to a subject of its own person,
// <subject>.<token>, where token is a keyed hash (the cluster token) of the
// record's user id, or else its anonymous id: erasing a person purges those
// subjects (PurgePerson), so the stream does not keep their events for
// max_age after the database forgot them, and a rebuild cannot bring them
// back. The hash is keyed so that a subject name does not give the
// identifier away to whoever can list subjects without the token.

// routedKinds are the identifier kinds a stream subject is made from, in
// order of preference.
var routedKinds = [...]string{engine.KindUserID, engine.KindAnonymousID} //nolint:gochecknoglobals // a constant list

// subjectKey keys the subject hash: the cluster token, or a fixed key on a
// cluster without one (loopback only, where nobody else lists subjects).
func (c Config) subjectKey() []byte {
	if c.Token != "" {
		return []byte(c.Token)
	}
	return []byte("tact-events-subject")
}

// personSubject is the events subject of identifier (kind, value), value
// as the store normalises it (trimmed).
func (c Config) personSubject(kind, value string) string {
	m := hmac.New(sha256.New, c.subjectKey())
	m.Write([]byte("tact-subject-v1\x00" + kind + "\x00" + strings.TrimSpace(value)))
	return c.Subject + "." + hex.EncodeToString(m.Sum(nil)[:16])
}

// subjectOf is the subject record r is published to: its person's, or the
// bare subject for a record naming neither a user id nor an anonymous id.
func (c Config) subjectOf(r record) string {
	var ids map[string]string
	switch {
	case r.Event != nil:
		ids = map[string]string{engine.KindUserID: r.Event.UserID, engine.KindAnonymousID: r.Event.AnonymousID}
	case r.Profile != nil:
		ids = map[string]string{}
		for _, k := range routedKinds {
			ids[k], _ = r.Profile[k].(string)
		}
	}
	for _, k := range routedKinds {
		if v := strings.TrimSpace(ids[k]); v != "" {
			return c.personSubject(k, v)
		}
	}
	return c.Subject
}

// PurgePerson removes from the events stream every message published
// under one of ids (a person's identifiers, as the store holds them):
// the erasure hook of the engine role (engine.ErasureHook). It returns the
// error of the first purge that failed, and the erasure then fails too.
func (c *Conn) PurgePerson(ctx context.Context, ids []engine.Identity) error {
	var subjects []string
	for _, id := range ids {
		for _, k := range routedKinds {
			if id.Kind == k {
				subjects = append(subjects, c.cfg.personSubject(id.Kind, id.Value))
			}
		}
	}
	if len(subjects) == 0 {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, c.cfg.PublishTimeout)
	defer cancel()
	s, err := c.js.Stream(pctx, c.cfg.Stream)
	if err != nil {
		return fmt.Errorf("cluster: events stream: %w", err)
	}
	for _, subj := range subjects {
		if err := s.Purge(pctx, jetstream.WithPurgeSubject(subj)); err != nil {
			return fmt.Errorf("cluster: purge an erased person's events: %w", err)
		}
	}
	return nil
}
