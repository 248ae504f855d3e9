package journeys

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func testTemplates(t *testing.T) ValidateConfig {
	t.Helper()
	set, err := LoadTemplates("../testdata/templates", "../testdata/journeys/templates")
	require.NoError(t, err)
	return ValidateConfig{Templates: set}
}

func TestExampleSpecsValidate(t *testing.T) {
	t.Parallel()
	cfg := testTemplates(t)
	files, err := filepath.Glob("../testdata/journeys/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, 6)
	kinds := map[EntryKind]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		spec, err := Parse(f, src, cfg)
		require.NoError(t, err, f)
		kinds[spec.Entry.Kind] = true
	}
	require.Len(t, kinds, 4)
}

func TestValidationProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		src  string
		want []string // "line:path: fragment"
	}{
		{"unknown step kind", `
name: x
purpose: marketing
entry: api
steps:
  - id: a
    sned: {channel: email, template: welcome}
`, []string{"7:steps[0].sned: unknown step kind", "6:steps[0]: want exactly one step kind"}},
		{"unknown channel and template", `
name: x
purpose: marketing
entry: api
steps:
  - id: a
    send: {channel: fax, template: welcome}
  - id: b
    send: {channel: email, template: nope}
  - id: c
    send: {channel: sms, template: welcome}
`, []string{"7:steps[0].send.channel: unknown channel \"fax\"", "9:steps[1].send.template: template \"nope\" does not exist", "11:steps[2].send.template: template \"welcome\" is for email, not sms"}},
		{"unreachable and cycle", `
name: x
purpose: marketing
entry: api
steps:
  - id: a
    branch:
      - {if: 'ltv > 1', goto: b}
      - {else: a}
  - id: b
    exit: {}
  - id: lonely
    exit: {}
`, []string{"6:steps[0]: cycle with no wait: a → a", "12:steps[2]: step \"lonely\" is unreachable"}},
		{"expressions, split, cron, durations", `
name: x
purpose: marketing
entry:
  schedule: "TZ=UTC"
goal: 'ltv >'
steps:
  - id: s
    split:
      - {percent: 30, goto: w}
      - {percent: 30, goto: w}
  - id: w
    wait: {duration: 3x}
  - id: u
    wait: {until: "25:00"}
`, []string{"5:entry.schedule: invalid cron spec", "6:goal: expression does not compile", "10:steps[0].split: percentages add up to 60", "13:steps[1].wait.duration: invalid duration", "15:steps[2].wait.until: want HH:MM"}},
		{"missing things", `
name: Bad Name
purpose: spam
entry: {event: ""}
reentry: sometimes
steps:
  - id: a
    wait: {event: purchase}
    next: nowhere
`, []string{"2:name: want lower-case", "3:purpose: unknown purpose", "4:entry.event: must name an event", "5:reentry: want never", "8:steps[0].wait.timeout: required", "9:steps[0].next: no step with id \"nowhere\""}},
		{"bad cron panics are errors", `
name: x
purpose: marketing
entry: {schedule: "CRON_TZ=Nowhere/Zone 0 9 * * *"}
steps:
  - {id: a, exit: {}}
`, []string{"4:entry.schedule: invalid cron spec"}},
	}
	cfg := testTemplates(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("bad.yaml", []byte(c.src), cfg)
			var ve *ValidationError
			require.True(t, errors.As(err, &ve), "%v", err)
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.String())
			}
			for _, w := range c.want {
				line, rest, _ := strings.Cut(w, ":")
				found := false
				for _, p := range ve.Problems {
					if strings.HasPrefix(p.Path+": "+p.Msg, rest) && line == itoa(p.Line) {
						found = true
					}
				}
				require.True(t, found, "want %q in\n%s", w, strings.Join(got, "\n"))
			}
			require.Contains(t, err.Error(), "bad.yaml:")
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"30d": "720h0m0s", "1w": "168h0m0s", "90m": "1h30m0s", "1h30m": "1h30m0s", "0.5d": "12h0m0s"} {
		d, err := ParseDuration(in)
		require.NoError(t, err)
		require.Equal(t, want, d.String())
	}
	for _, bad := range []string{"", "d", "-1d", "3x", "abc"} {
		_, err := ParseDuration(bad)
		require.Error(t, err, bad)
	}
}
