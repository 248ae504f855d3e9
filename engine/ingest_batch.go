package engine

import (
	"context"
	_ "embed" // ingest.sql
	"fmt"
	"time"

	"github.com/tactcdp/tact/internal/sqlblock"
)

//go:embed ingest.sql
var ingestSQL string

// IngestEvents is a batch of validated events held in columns: one slice
// per column, all of the same length, row i across them being one event.
// UserID and AnonymousID are "" when absent (each row has at least one);
// Properties and Context are compact JSON object texts, "" for none.
type IngestEvents struct {
	UserID      []string
	AnonymousID []string
	Event       []string
	TS          []time.Time
	Properties  []string
	Context     []string
	MessageID   []string
}

// Len is the number of events.
func (e *IngestEvents) Len() int { return len(e.Event) }

// check reports columns of unequal length: a programming error of the
// caller, refused before anything is written.
func (e *IngestEvents) check() error {
	n := e.Len()
	for name, l := range map[string]int{"UserID": len(e.UserID), "AnonymousID": len(e.AnonymousID), "TS": len(e.TS),
		"Properties": len(e.Properties), "Context": len(e.Context), "MessageID": len(e.MessageID)} {
		if l != n {
			return fmt.Errorf("ingest: column %s has %d values for %d events", name, l, n)
		}
	}
	return nil
}

// IngestBatch is one group commit of the HTTP ingestion.
type IngestBatch struct {
	// Label names the batch in errors, the merge log and events.source.
	Label string
	// Untrusted marks a client write key's batch (see ImportRowsUntrusted).
	Untrusted bool
	// Profiles are identify and alias rows; traits are typed and added
	// with the profile import's rules (ImportRows).
	Profiles []map[string]any
	// ProfileMessageIDs are the message ids of Profiles, row for row ("" for
	// a row sent without one), or nil when no row has one. A row whose
	// message id was stored before, as an event's or a profile row's, is
	// left out: an SDK's retry changes nothing, and a replay after erasure
	// does not make the person known again.
	ProfileMessageIDs []string
	Events            IngestEvents
}

// IngestResult counts what one batch changed.
type IngestResult struct {
	Profiles ImportResult `json:"profiles"`
	// ProfilesDuplicate counts profile rows left out because their message
	// id was stored before (or earlier in the batch).
	ProfilesDuplicate int            `json:"profiles_duplicate,omitempty"`
	EventsAdded       int            `json:"events_added"`
	EventsDuplicate   int            `json:"events_duplicate"`
	EventsDropped     map[string]int `json:"events_dropped,omitempty"`
	// EventsResolved is true when some event brought an identifier no
	// profile held yet, so the batch went through identity resolution.
	EventsResolved bool `json:"events_resolved"`
}

// Ingest writes one batch of the HTTP ingestion: its profile rows with the
// profile import (ingestProfiles), then its events with the set-based path of
// ingestEvents, each in one transaction. Either part is all-or-nothing;
// an error leaves that part unwritten.
func (s *Store) Ingest(ctx context.Context, b IngestBatch) (IngestResult, error) {
	var res IngestResult
	if err := b.Events.check(); err != nil {
		return res, err
	}
	if n := len(b.ProfileMessageIDs); n > 0 && n != len(b.Profiles) {
		return res, fmt.Errorf("ingest: %d profile message ids for %d profile rows", n, len(b.Profiles))
	}
	if b.Untrusted {
		ctx = context.WithValue(ctx, untrustedInput{}, true)
	}
	if len(b.Profiles) > 0 {
		if err := s.ingestProfiles(ctx, b, &res); err != nil {
			return res, err
		}
	}
	if b.Events.Len() == 0 {
		return res, nil
	}
	err := s.ingestEvents(ctx, b.Label+"-events", &b.Events, &res)
	return res, err
}

// ingestQuery is the named block of ingest.sql.
func ingestQuery(name string) string {
	blocks, err := sqlblock.Parse(ingestSQL)
	q, ok := blocks[name]
	if err != nil || !ok {
		panic("engine: no sql block named " + name + " in ingest.sql") // a programming error, caught by tests
	}
	return q
}
