package channels

import (
	"cmp"
	"time"

	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/templates"
)

// TemplateData is what m's template renders with at now: the same in every
// adapter and in previews (journeys.Runner.Preview, the console), so a
// preview shows what a send would say.
func (m Message) TemplateData(now time.Time) templates.Data {
	return templates.Data{
		ProfileID: m.ProfileID, Traits: m.Traits, Payload: m.Payload, Timezone: m.Timezone, Now: now,
		Journey: m.Journey, Step: m.Step,
	}
}

// AddLinks puts into d the links a message on channel carries: the
// one-click unsubscribe link of a marketing email (required: without links
// configured it is linktoken.ErrNoLinks) and, when links are configured,
// the preference link of an email or SMS, each in the person's language. It
// returns the unsubscribe URL and token for the List-Unsubscribe headers.
//
// A test send (m.Test) gets inert links (linktoken.Links.InertUnsubscribe): the seed
// address that receives it must not be able to unsubscribe the person whose
// data it shows.
func (m Message) AddLinks(d *templates.Data, channel string, links linktoken.Links) (unsubURL, unsubToken string, err error) {
	if channel != Email && channel != SMS {
		return "", "", nil
	}
	configured := links.Signer != nil && links.BaseURL != ""
	purpose := cmp.Or(m.Purpose, PurposeMarketing)
	links = links.ForPerson(m.Traits)
	if channel == Email && m.Marketing() {
		if m.Test && configured {
			unsubURL = links.InertUnsubscribe()
		} else if unsubURL, unsubToken, err = links.Unsubscribe(m.ProfileID, purpose, channel); err != nil {
			return "", "", err
		}
		d.UnsubscribeURL = unsubURL
	}
	if configured {
		if m.Test {
			d.PreferencesURL = links.InertPreferences()
		} else {
			d.PreferencesURL, _, _ = links.Preferences(m.ProfileID, purpose, channel)
		}
	}
	return unsubURL, unsubToken, nil
}
