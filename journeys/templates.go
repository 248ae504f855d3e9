package journeys

import (
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
// adapters render it at send time: the same data (Message.TemplateData) and
// links (Message.AddLinks). The blanks a send would refuse are rendered empty
// (AllowMissing) and returned as missing, so a preview shows them rather
// than failing; a send never renders a message with missing fields.
func renderFor(set *templates.Set, channel string, m channels.Message, now time.Time, links linktoken.Links) (*templates.Rendered, []string, error) {
	tpl, err := set.Lookup(m.Template)
	if err != nil {
		return nil, nil, err
	}
	data := m.TemplateData(now)
	data.AllowMissing = true
	if _, _, err := m.AddLinks(&data, channel, links); err != nil {
		return nil, nil, err // a send without links is refused; so is the preview
	}
	missing, err := tpl.Missing(data)
	if err != nil {
		return nil, nil, err
	}
	out, err := set.Render(m.Template, channel, data)
	return out, missing, err
}
