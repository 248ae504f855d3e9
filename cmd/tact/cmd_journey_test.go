package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const journeyTemplates = "../../testdata/templates,../../testdata/journeys/templates"

func TestJourneyValidate(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../testdata/journeys/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		stdout, stderr, code := tact(t, nil, "journey", "validate", f, "--templates", journeyTemplates)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, stdout, "valid")
	}
	bad := write(t, t.TempDir(), "bad.yaml", `name: bad
purpose: marketing
entry: api
steps:
  - id: a
    send: {channel: email, template: nope}
  - id: b
    wait: {duration: 3x}
`)
	stdout, stderr, code := tact(t, nil, "journey", "validate", bad, "--templates", journeyTemplates)
	require.Equal(t, 1, code)
	require.Contains(t, stdout, bad+`:6:38: steps[0].send.template: template "nope" does not exist`)
	require.Contains(t, stdout, bad+`:8:22: steps[1].wait.duration: invalid duration "3x"`)
	require.Equal(t, "tact: "+bad+": 2 problem(s)\n", stderr)
}

func TestJourneyPublishRunStats(t *testing.T) {
	t.Parallel()
	env, _ := sampleDB(t)
	out := t.TempDir()
	stdout, stderr, code := tact(t, env, "journey", "publish", "../../testdata/journeys/welcome_series.yaml", "--templates", journeyTemplates)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "welcome-series: published version 1")
	stdout, _, code = tact(t, env, "journey", "publish", "../../testdata/journeys/welcome_series.yaml", "--templates", journeyTemplates)
	require.Equal(t, 0, code)
	require.Contains(t, stdout, "unchanged")

	stdout, stderr, code = tact(t, env, "journey", "run", "--until-idle", "--out", out, "--templates", journeyTemplates)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "idle:")
	emls, _ := filepath.Glob(filepath.Join(out, "*.eml"))
	require.NotEmpty(t, emls)
	raw, err := os.ReadFile(emls[0])
	require.NoError(t, err)
	require.Contains(t, string(raw), "List-Unsubscribe-Post: List-Unsubscribe=One-Click")

	stdout, stderr, code = tact(t, env, "journey", "stats", "welcome-series", "--json")
	require.Equal(t, 0, code, stderr)
	var st struct {
		Entered int64 `json:"entered"`
		Steps   []struct {
			Step    string           `json:"step"`
			Sent    int64            `json:"sent"`
			Skipped map[string]int64 `json:"skipped"`
		} `json:"steps"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &st))
	require.Greater(t, st.Entered, int64(0))
	require.Equal(t, "welcome", st.Steps[0].Step)
	require.Equal(t, int64(len(emls)), st.Steps[0].Sent)

	// With a database, expressions are checked against its traits.
	typo := write(t, t.TempDir(), "typo.yaml", "name: typo\npurpose: marketing\nentry: {segment: 'countyr == \"TH\"'}\nsteps:\n  - {id: a, exit: {}}\n")
	stdout, _, code = tact(t, env, "journey", "validate", typo, "--templates", journeyTemplates)
	require.Equal(t, 1, code)
	require.Contains(t, stdout, typo+":3:18: entry.segment: expression does not compile:")
	require.Contains(t, stdout, "country")

	for _, c := range [][]string{{"pause", "welcome-series"}, {"list"}, {"resume", "welcome-series"}} {
		stdout, stderr, code = tact(t, env, append([]string{"journey"}, c...)...)
		require.Equal(t, 0, code, stderr)
		if c[0] == "list" {
			require.Contains(t, stdout, "paused")
		}
	}
	_, stderr, code = tact(t, env, "journey", "stats", "nope")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `no journey named "nope"`)
	_, stderr, code = tact(t, env, "journey", "frob")
	require.Equal(t, 2, code)
	help, _, _ := tact(t, env, "help")
	_, syntax, _ := strings.Cut(strings.TrimSuffix(stderr, "\n"), "usage: tact ")
	require.Contains(t, help, "  tact "+syntax+"\n", "the usage error and help list the same subcommands")
	require.Contains(t, syntax, "failures NAME")
}

func TestDemoRunsAJourney(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := tact(t, map[string]string{}, "demo")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, `Journey "demo-welcome" v1`)
	i := strings.Index(stdout, "journey demo-welcome:")
	require.GreaterOrEqual(t, i, 0, stdout)
	require.Contains(t, stdout[i:], "welcome")
	require.Contains(t, stdout[i:], "skipped no_consent=")
}

// TestJourneyRunUsesConfiguredChannels: with a channels: section, journey
// sends go through the adapters it configures (here the file provider with
// its own folder), not the --out fallback.
func TestJourneyRunUsesConfiguredChannels(t *testing.T) {
	t.Parallel()
	env, _ := sampleDB(t)
	env["TACT_LINK_SECRET"] = strings.Repeat("s", 32)
	dir := t.TempDir()
	configured, fallback := filepath.Join(dir, "configured"), filepath.Join(dir, "fallback")
	cfg := write(t, dir, "tact.yaml", `channels:
  templates: {dir: ../../testdata/templates}
  links: {base_url: https://prefs.example.com, keys: ["env:TACT_LINK_SECRET"]}
  email:
    provider: file
    from: {name: Example Shop, address: news@example.com}
    file: {dir: `+configured+`}
`)
	_, stderr, code := tact(t, env, "--config", cfg, "journey", "publish", "../../testdata/journeys/welcome_series.yaml", "--templates", journeyTemplates)
	require.Equal(t, 0, code, stderr)
	_, stderr, code = tact(t, env, "--config", cfg, "journey", "run", "--until-idle", "--out", fallback, "--templates", journeyTemplates)
	require.Equal(t, 0, code, stderr)
	sent, _ := filepath.Glob(filepath.Join(configured, "*.eml"))
	require.NotEmpty(t, sent, "the configured adapter sent")
	stray, _ := filepath.Glob(filepath.Join(fallback, "*.eml"))
	require.Empty(t, stray, "nothing went to the fallback folder")
	raw, err := os.ReadFile(sent[0])
	require.NoError(t, err)
	require.Contains(t, string(raw), "List-Unsubscribe: <https://prefs.example.com/unsubscribe?token=")
}
