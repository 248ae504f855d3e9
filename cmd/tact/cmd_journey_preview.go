package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels/setup"
	"github.com/tactcdp/tact/journeys"
)

const previewUsage = "usage: tact journey preview FILE|NAME [--people N] [--json] | test-send NAME --to ADDRESS [--step ID] [--user U]"

// previewLines is how many lines of a message body the terminal shows
// (--json has all of it).
const previewLines = 8

// cmdJourneyPreview runs `journey preview` and `journey test-send`.
func cmdJourneyPreview(ctx context.Context, a *app, sub string, args []string) error {
	fs := flag.NewFlagSet("journey "+sub, flag.ContinueOnError)
	out := ""
	f := journeyFlags{
		templates: fs.String("templates", "", "comma-separated template directories (default: channels.templates.dir, else templates, testdata/templates, testdata/journeys/templates when present)"),
		publicURL: fs.String("public-url", "", "public origin of unsubscribe and preference links (default channels.links.base_url, server.public_url, http://localhost:8080)"),
		json:      fs.Bool("json", false, "print JSON"),
		user:      fs.String("user", "", "user_id, email or phone of the person whose data fills the test message"),
		out:       &out,
	}
	people := fs.Int("people", journeys.DefaultPreviewPeople, "how many people to preview")
	to := fs.String("to", "", "the seed address the test message goes to")
	step := fs.String("step", "", "the send step to test (default: the first)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef(previewUsage)
	}
	if sub == "preview" {
		if *people < 1 {
			return usagef("journey preview: --people must be at least 1, got %d", *people)
		}
		return journeyPreview(ctx, a, f, pos[0], *people)
	}
	if strings.TrimSpace(*to) == "" {
		return usagef("journey test-send: --to ADDRESS is required")
	}
	return journeyTestSend(ctx, a, f, pos[0], strings.TrimSpace(*to), *step)
}

// previewSpec is the journey to preview: a file (validated, not
// published) when arg names one, else the published journey of that name.
func previewSpec(ctx context.Context, r *journeys.Runner, arg string) (*journeys.Spec, int, error) {
	if fileExists(arg) {
		src, err := os.ReadFile(arg)
		if err != nil {
			return nil, 0, err
		}
		spec, err := r.Validate(arg, src)
		return spec, 0, err
	}
	return r.PublishedSpec(ctx, arg)
}

func journeyPreview(ctx context.Context, a *app, f journeyFlags, arg string, people int) error {
	r, s, err := a.journeyRunner(ctx, f, false)
	if err != nil {
		return err
	}
	spec, version, err := previewSpec(ctx, r, arg)
	if err != nil {
		return err
	}
	links, err := a.fileLinks(s, *f.publicURL)
	if err != nil {
		return err
	}
	p, err := r.Preview(ctx, spec, version, journeys.PreviewOptions{People: people, Links: links, Actor: "operator"})
	if err != nil {
		return err
	}
	if *f.json {
		return a.printJSON(p)
	}
	printPreview(a, p)
	return nil
}

func printPreview(a *app, p *journeys.Preview) {
	w := a.stdout
	version := "file, not published"
	if p.Version > 0 {
		version = fmt.Sprintf("v%d", p.Version)
	}
	fmt.Fprintf(w, "journey %s (%s, %s, %s entry) at %s\n", p.Journey, version, p.Purpose, p.Entry, p.At.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "people: %d, %s\n", len(p.People), p.PeopleFrom)
	if len(p.Steps) == 0 {
		fmt.Fprintln(w, "\nthe journey has no send step")
	}
	total, going, refused := 0, 0, 0
	for _, st := range p.Steps {
		fmt.Fprintf(w, "\nstep %s: %s, template %s\n", st.Step, st.Channel, st.Template)
		for _, s := range st.Sends {
			total++
			if s.WouldSend {
				going++
			}
			if s.Reason == journeys.ReasonRender {
				refused++
			}
			who := fmt.Sprintf("profile %d", s.ProfileID)
			if s.UserID != "" {
				who += " (" + s.UserID + ")"
			}
			fmt.Fprintf(w, "  %s: %s\n", who, verdict(s))
			for _, kv := range [][2]string{{"subject", s.Subject}, {"preheader", s.Preheader}, {"title", s.Title}, {"url", s.URL}} {
				if kv[1] != "" {
					fmt.Fprintf(w, "    %s: %s\n", kv[0], kv[1])
				}
			}
			printBody(a, s.Text)
		}
	}
	fmt.Fprintf(w, "\n%d of %d sends would go", going, total)
	if refused > 0 {
		fmt.Fprintf(w, "; %d WOULD NOT RENDER (fields missing or template error)", refused)
	}
	fmt.Fprintln(w)
}

// verdict says in one line what would happen to one send.
func verdict(s journeys.PreviewSend) string {
	switch {
	case s.WouldSend:
		return "would send"
	case len(s.Missing) > 0:
		return "WOULD NOT SEND: field " + strings.Join(s.Missing, ", ") + " missing (shown blank below)"
	case s.RenderError != "":
		return "WOULD NOT SEND: " + oneLine(s.RenderError)
	case s.HoldUntil != nil:
		return fmt.Sprintf("would be held: %s until %s", s.Reason, s.HoldUntil.UTC().Format(time.RFC3339))
	}
	return "would not send: " + s.Reason
}

// printBody prints the first lines of a message body, indented.
func printBody(a *app, text string) {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	for i, l := range lines {
		if i == previewLines {
			fmt.Fprintf(a.stdout, "    | … %d more lines (--json shows all)\n", len(lines)-i)
			break
		}
		fmt.Fprintf(a.stdout, "    | %s\n", l)
	}
}

func journeyTestSend(ctx context.Context, a *app, f journeyFlags, name, to, step string) error {
	r, s, err := a.journeyRunner(ctx, f, false)
	if err != nil {
		return err
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if !channelsConfigured(cfg.Channels) {
		return fmt.Errorf("journey test-send: no channels configured in tact.yaml (channels:); a test send goes through a real adapter")
	}
	spec, version, err := r.PublishedSpec(ctx, name)
	if err != nil {
		return err
	}
	var profileID int64
	if *f.user != "" {
		if profileID, err = s.ResolveUser(ctx, *f.user); err != nil {
			return err
		}
	}
	keys, err := a.linkKeys(cfg, s)
	if err != nil {
		return err
	}
	lookup := func(k string) (string, bool) { v := a.getenv(k); return v, v != "" }
	chset, err := setup.Build(cfg.Channels, setup.Deps{LookupEnv: lookup, Now: s.Clock().Now, Gate: r.SeedGate(), LinkKeys: keys})
	if err != nil {
		return err
	}
	a.channelSet = chset
	sent, err := r.TestSend(ctx, spec, version, journeys.TestSendOptions{Step: step, ProfileID: profileID, To: to,
		Channels: chset.Channels, Links: chset.Links, Actor: "operator"})
	if err != nil {
		return err
	}
	if *f.json {
		return a.printJSON(sent)
	}
	fmt.Fprintf(a.stdout, "sent one test %s of %s/%s (data of profile %d) to %s, marked as a test\n", sent.Channel, sent.Journey, sent.Step, sent.ProfileID, to)
	return nil
}
