package journeys

import (
	"cmp"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/channels/templates"
)

// LoadTemplates loads template directories into one set (a later directory
// may not redefine a name).
func LoadTemplates(dirs ...string) (*templates.Set, error) {
	var all []*templates.Template
	for _, d := range dirs {
		s, err := templates.Load(d)
		if err != nil {
			return nil, err
		}
		for _, n := range s.Names() {
			t, err := s.Lookup(n)
			if err != nil {
				return nil, err
			}
			all = append(all, t)
		}
	}
	return templates.NewSet(all...)
}

// renderFor renders a send step's message m for channel as the channel
// adapters render it at send time (channels/email Compose, sms.Twilio.Render,
// push, line.Adapter.Render): the same templates.Data from the message, the
// unsubscribe link on a marketing email, the preference link where the
// adapter gives one. The blanks a send would refuse are rendered empty
// (AllowMissing) and returned as missing, so a preview shows them rather
// than failing; a send never renders a message with missing fields.
func renderFor(set *templates.Set, channel string, m channels.Message, now time.Time, links linktoken.Links) (*templates.Rendered, []string, error) {
	tpl, err := set.Lookup(m.Template)
	if err != nil {
		return nil, nil, err
	}
	data := templates.Data{
		ProfileID: m.ProfileID, Traits: m.Traits, Payload: m.Payload, Timezone: m.Timezone, Now: now,
		Journey: m.Journey, Step: m.Step, AllowMissing: true,
	}
	purpose := cmp.Or(m.Purpose, PurposeMarketing)
	if channel == channels.Email && m.Marketing() {
		// A send without links is refused (templates.ErrNoUnsubscribeLink);
		// so is the preview.
		data.UnsubscribeURL, _, _ = links.Unsubscribe(m.ProfileID, purpose, channel)
	}
	if channel == channels.Email || channel == channels.SMS {
		data.PreferencesURL, _, _ = links.Preferences(m.ProfileID, purpose, channel)
	}
	missing, err := tpl.Missing(data)
	if err != nil {
		return nil, nil, err
	}
	out, err := set.Render(m.Template, channel, data)
	return out, missing, err
}
