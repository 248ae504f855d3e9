package journeys

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTemplatePurposeMustMatchJourney: a transactional journey cannot send
// a marketing template (it would skip consent for marketing content), nor
// a marketing journey a transactional one; the error names the step's line.
func TestTemplatePurposeMustMatchJourney(t *testing.T) {
	t.Parallel()
	set, err := LoadTemplates("../testdata/templates")
	require.NoError(t, err)
	cases := []struct {
		name, src, want string
	}{
		{"marketing template in a transactional journey", `name: sneaky
purpose: transactional
entry: api
steps:
  - id: mail
    send: {channel: email, template: welcome}
`, `spec.yaml:6:38: steps[0].send.template: template "welcome" is a marketing template; a transactional journey sends only transactional templates`},
		{"transactional template in a marketing journey", `name: odd
purpose: marketing
entry: api
steps:
  - id: mail
    send: {channel: email, template: receipt}
`, `spec.yaml:6:38: steps[0].send.template: template "receipt" is a transactional template; a marketing journey sends only marketing templates`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("spec.yaml", []byte(tc.src), ValidateConfig{Templates: set})
			var ve *ValidationError
			require.True(t, errors.As(err, &ve), "%v", err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	_, err = Parse("ok.yaml", []byte("name: receipt\npurpose: transactional\nentry: api\nsteps:\n  - id: mail\n    send: {channel: email, template: receipt}\n"), ValidateConfig{Templates: set})
	require.NoError(t, err)
}

// TestOnlyAdminsPublishTransactional: the runner refuses a transactional
// journey from a non-admin publisher (and a change to one), with a typed
// error, and audits the refusal and the publish.
func TestOnlyAdminsPublishTransactional(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const tx = "name: receipt\npurpose: transactional\nentry: api\nsteps:\n  - id: mail\n    send: {channel: email, template: receipt}\n"
	_, err := e.r.PublishAs(e.ctx, "r.yaml", []byte(tx), Publisher{Actor: "api:mkt"})
	var fe *ForbiddenError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "receipt", fe.Journey)
	_, err = e.r.PublishAs(e.ctx, "r.yaml", []byte(tx), Publisher{Actor: "api:ops", Admin: true})
	require.NoError(t, err)
	// Turning it into a marketing journey is a change to a transactional
	// journey: admins only as well.
	_, err = e.r.PublishAs(e.ctx, "r.yaml", []byte("name: receipt\npurpose: marketing\nentry: api\nsteps:\n  - id: mail\n    send: {channel: email, template: welcome}\n"), Publisher{Actor: "api:mkt"})
	require.ErrorAs(t, err, &fe)
	entries, err := e.store.AuditLog(e.ctx, 0, 100)
	require.NoError(t, err)
	var got []string
	for _, a := range entries {
		if a.Subject == "journey:receipt" {
			got = append(got, a.Action+"/"+a.Actor)
		}
	}
	require.Equal(t, []string{"journey.refused/api:mkt", "journey.published/api:ops", "journey.refused/api:mkt"}, got)
}
