package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/email"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/setup"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/journeys"
)

// journeyRunner builds a runner. With channels, the adapters configured in
// tact.yaml's channels: section send (the set is kept on a and closed with
// it); without that section the email channel writes .eml files into --out.
func (a *app) journeyRunner(ctx context.Context, f journeyFlags, withChannels bool) (*journeys.Runner, *engine.Store, error) {
	s, err := a.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := a.config()
	if err != nil {
		return nil, nil, err
	}
	jc := journeys.Config{Policy: cfg.Journeys, Logger: s.Logger(), Evaluator: journeys.NewSegmentsEvaluator(s)}
	if a.getenv("TACT_JOURNEYS_TRACE") != "" {
		jc.Trace = a.stderr
	}
	var set *templates.Set
	if dirs := a.templateDirs(f); len(dirs) > 0 {
		if set, err = journeys.LoadTemplates(dirs...); err != nil {
			return nil, nil, err
		}
		jc.Templates = set
	}
	var r *journeys.Runner
	gate := channels.GateFunc(func(ctx context.Context, c string, m channels.Message) (string, error) {
		return r.Gate().Check(ctx, c, m)
	})
	switch {
	case withChannels && channelsConfigured(cfg.Channels):
		// The configured adapters (SMTP, SMS, push, webhook) send, each
		// asking the runner's gate right before its provider call.
		lookup := func(k string) (string, bool) { v := a.getenv(k); return v, v != "" }
		keys, err := a.linkKeys(cfg, s)
		if err != nil {
			return nil, nil, err
		}
		chset, err := setup.Build(cfg.Channels, setup.Deps{LookupEnv: lookup, Now: s.Clock().Now, Gate: gate, LinkKeys: keys})
		if err != nil {
			return nil, nil, err
		}
		a.channelSet = chset
		for _, w := range chset.Warnings {
			fmt.Fprintln(a.stderr, "tact: "+w)
		}
		for _, name := range slices.Sorted(maps.Keys(chset.Channels)) {
			jc.Channels = append(jc.Channels, chset.Channels[name])
		}
		if jc.Templates == nil {
			jc.Templates = chset.Templates
		}
	case withChannels:
		if set == nil {
			return nil, nil, errors.New("journey run: no templates found; give --templates DIR")
		}
		links, err := a.fileLinks(s, *f.publicURL)
		if err != nil {
			return nil, nil, err
		}
		ch, err := fileEmail(set, *f.out, links, s.Clock(), gate)
		if err != nil {
			return nil, nil, err
		}
		jc.Channels = []channels.Channel{ch}
	}
	if a.sendThrough != nil {
		for i, ch := range jc.Channels {
			jc.Channels[i] = a.sendThrough(ch.Name())
		}
	}
	r, err = journeys.New(s, jc)
	return r, s, err
}

// linkKeys are the keys that sign and verify links: channels.links.keys
// when configured, else one derived from the database's key (stable across
// restarts, nothing to configure). Never random per process.
func (a *app) linkKeys(cfg *Config, st *engine.Store) ([][]byte, error) {
	if len(cfg.Channels.Links.Keys) == 0 {
		return [][]byte{st.DerivedKey("links")}, nil
	}
	lookup := func(k string) (string, bool) { v := a.getenv(k); return v, v != "" }
	var out [][]byte
	for i, ref := range cfg.Channels.Links.Keys {
		k, err := ref.Resolve(lookup, os.ReadFile)
		if err != nil {
			return nil, fmt.Errorf("channels.links.keys[%d]: %w", i, err)
		}
		if len(k) < linktoken.MinKeyLen {
			return nil, fmt.Errorf("channels.links.keys[%d]: shorter than %d bytes", i, linktoken.MinKeyLen)
		}
		out = append(out, []byte(k))
	}
	return out, nil
}

// channelsConfigured reports whether tact.yaml configures any adapter.
func channelsConfigured(cc channels.Config) bool {
	return cc.Email != nil || cc.SMS != nil || cc.Push != nil || cc.Webhook != nil || cc.LINE != nil
}

// defaultPublicURL is where tact serve listens when nothing says otherwise:
// links written without a configured origin open against it.
const defaultPublicURL = "http://localhost:8080"

// fileLinks builds unsubscribe and preference links as the configured
// channels do (channels.links; keys derived from the database's when none
// are set), for the commands that send or render without a channels:
// section. The origin is publicURL when given, else channels.links.base_url,
// server.public_url, defaultPublicURL.
func (a *app) fileLinks(s *engine.Store, publicURL string) (linktoken.Links, error) {
	cfg, err := a.config()
	if err != nil {
		return linktoken.Links{}, err
	}
	keys, err := a.linkKeys(cfg, s)
	if err != nil {
		return linktoken.Links{}, err
	}
	lc := cfg.Channels.Links
	signer, err := linktoken.New(linktoken.Config{Keys: keys, TTL: lc.TTL, Now: s.Clock().Now})
	if err != nil {
		return linktoken.Links{}, fmt.Errorf("channels.links: %w", err)
	}
	return linktoken.Links{BaseURL: cmp.Or(publicURL, lc.BaseURL, cfg.Server.PublicURL, defaultPublicURL),
		UnsubscribePath: lc.UnsubscribePath, PreferencesPath: lc.PreferencesPath, Signer: signer}, nil
}

func fileEmail(set *templates.Set, dir string, links linktoken.Links, clk clock.Clock, gate channels.Gate) (*email.File, error) {
	return email.NewFile(email.Config{
		From:      email.Address{Name: "Tact Coffee", Address: "hello@coffee.example.com"},
		Templates: set,
		Links:     links,
		Gate:      gate,
		Now:       clk.Now,
	}, email.FileConfig{Dir: dir})
}
