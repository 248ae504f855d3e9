package journeys

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
)

// onTrace calls fn the first time a trace line of the runner contains
// what: a point between two of its statements where a test lets another
// writer commit.
type onTrace struct {
	what string
	once sync.Once
	fn   func()
}

func (o *onTrace) Write(p []byte) (int, error) {
	if strings.Contains(string(p), o.what) {
		o.once.Do(o.fn)
	}
	return len(p), nil
}

// envCommittingAt is newEnv with another writer's commit (other) run the
// first time the runner traces a line containing what.
func envCommittingAt(t *testing.T, what string, other func(e *env)) *env {
	t.Helper()
	var e *env
	hook := &onTrace{what: what, fn: func() { other(e) }}
	e = newEnv(t, func(c *Config) { c.Trace = hook })
	return e
}

// TestObjectionBetweenReadAndWriteStaysAnExit: an objection that commits
// after the send step read who is due and before it wrote their moves
// ended the person's instance; the step neither queues their send nor moves
// the ended instance back to active (which would have taken them through
// the rest of the journey, and resumed it had they later withdrawn the
// objection), whether the step was sending to them (u0) or skipping them
// (u2, no consent).
func TestObjectionBetweenReadAndWriteStaysAnExit(t *testing.T) {
	t.Parallel()
	e := envCommittingAt(t, "send_due query", func(e *env) {
		for _, u := range []string{"u0", "u2"} {
			_, err := e.store.Object(e.ctx, u, engine.PrivacyOptions{})
			require.NoError(t, err)
		}
	})
	ids := e.people(
		person{User: "u0", Email: "u0@example.com", TZ: "UTC", Consents: []string{"marketing/email"}},
		person{User: "u1", Email: "u1@example.com", TZ: "UTC", Consents: []string{"marketing/email"}},
		person{User: "u2", Email: "u2@example.com", TZ: "UTC"},
	)
	e.publish(twoEmails)
	enterAll(t, e, "welcome", ids)
	e.run()

	require.Equal(t, []int64{ids[1]}, e.chans["email"].to("hello"))
	for _, objector := range []int64{ids[0], ids[2]} {
		var status, reason, step string
		require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT status, exit_reason, step FROM journey_instances WHERE journey = 'welcome' AND profile_id = ?`, objector).
			Scan(&status, &reason, &step))
		require.Equal(t, StatusExited, status, "the objection ended profile %d's instance; the step's write must not revive it", objector)
		require.Equal(t, ReasonObjected, reason)
		require.Equal(t, "hello", step)
		var queued int
		require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM journey_outbox WHERE profile_id = ?`, objector).Scan(&queued))
		require.Zero(t, queued, "nothing is queued for an instance that ended")
	}
	require.Zero(t, e.logCount("welcome", "hello", "skipped", ReasonNoConsent), "no skip is logged for an instance that ended")

	for _, u := range []string{"u0", "u2"} {
		_, err := e.store.Unobject(e.ctx, u, engine.PrivacyOptions{})
		require.NoError(t, err)
	}
	e.advance(25 * time.Hour)
	require.Equal(t, []int64{ids[1]}, e.chans["email"].to("again"), "the ended instances do not resume")
}

// TestErasureBetweenReadAndWriteLeavesNothing: an erasure that commits
// after the send step read who is due and before it wrote removed the
// person's instance; the step's write then adds no outbox row, no log row
// and no instance for them, where it used to queue their send and log a
// move of an instance that no longer existed: data of an erased person
// written after the erasure. The others' skips and sends are unchanged.
func TestErasureBetweenReadAndWriteLeavesNothing(t *testing.T) {
	t.Parallel()
	e := envCommittingAt(t, "send_due query", func(e *env) {
		_, err := e.store.Erase(e.ctx, "u0", engine.EraseOptions{NoCompact: true})
		require.NoError(t, err)
		_, err = e.store.Erase(e.ctx, "u2", engine.EraseOptions{NoCompact: true})
		require.NoError(t, err)
	})
	ids := e.people(
		person{User: "u0", Email: "u0@example.com", TZ: "UTC", Consents: []string{"marketing/email"}},
		person{User: "u1", Email: "u1@example.com", TZ: "UTC", Consents: []string{"marketing/email"}},
		person{User: "u2", Email: "u2@example.com", TZ: "UTC"}, // no consent: skipped
		person{User: "u3", Email: "u3@example.com", TZ: "UTC"}, // no consent: skipped
	)
	e.publish(twoEmails)
	enterAll(t, e, "welcome", ids)
	e.run()

	require.Equal(t, []int64{ids[1]}, e.chans["email"].to("hello"))
	for _, erased := range []int64{ids[0], ids[2]} {
		for _, table := range []string{"journey_instances", "journey_outbox", "journey_log"} {
			var n int
			require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM `+table+` WHERE profile_id = ?`, erased).Scan(&n))
			require.Zero(t, n, "%s holds rows of profile %d, erased", table, erased)
		}
	}
	require.Equal(t, 1, e.logCount("welcome", "hello", "skipped", ReasonNoConsent), "u3's skip is logged")
}

// TestErasureBeforeAnUpdateWritesDoesNotRecreateThePerson: an erasure that
// commits after the update step read who is due and before it wrote their
// traits made the write an import of the erased person's user id, which
// created them again. The step now writes only to people who exist,
// reads again, and updates the others.
func TestErasureBeforeAnUpdateWritesDoesNotRecreateThePerson(t *testing.T) {
	t.Parallel()
	e := envCommittingAt(t, "update_due query", func(e *env) {
		_, err := e.store.Erase(e.ctx, "u0", engine.EraseOptions{NoCompact: true})
		require.NoError(t, err)
	})
	ids := e.crowd(2, "UTC")
	e.publish(tagBuyers)
	enterAll(t, e, "receipt", ids)
	e.run()
	e.advance(2 * time.Hour)

	_, err := e.store.ResolveUser(e.ctx, "u0")
	require.ErrorIs(t, err, engine.ErrNotFound, "the erased person stays erased")
	var profiles int
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM profiles`).Scan(&profiles))
	require.Equal(t, 1, profiles)
	p, err := e.store.Profile(e.ctx, ids[1])
	require.NoError(t, err)
	require.Equal(t, true, p.Traits["buyer"], "the others are updated")
	require.Equal(t, 1, e.logCount("receipt", "tag", "completed", ""))
}

// TestErasureDuringTheProviderCallLeavesNoLog: an erasure committed while
// the person's message was at the provider removed their instance and log;
// the batch's results, written after the call, then logged the send
// again: a row of an erased person. Only the people whose instances
// remain are logged.
func TestErasureDuringTheProviderCallLeavesNoLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(2, "UTC")
	var once sync.Once
	e.chans["email"].fail = func(m channels.Message) *channels.Result {
		if m.ProfileID == ids[0] {
			once.Do(func() {
				_, err := e.store.Erase(e.ctx, "u0", engine.EraseOptions{NoCompact: true})
				require.NoError(t, err)
			})
		}
		return nil
	}
	e.publish(twoEmails)
	enterAll(t, e, "welcome", ids)
	e.run()

	require.Equal(t, ids, e.chans["email"].to("hello"), "both were at the provider")
	var logged int
	require.NoError(t, e.store.DB().QueryRowContext(e.ctx, `SELECT count(*) FROM journey_log WHERE profile_id = ?`, ids[0]).Scan(&logged))
	require.Zero(t, logged, "no log row of the erased person")
	require.Equal(t, 1, e.logCount("welcome", "hello", "sent", ""), "the other's send is logged")
}
