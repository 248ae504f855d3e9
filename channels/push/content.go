package push

import (
	"fmt"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
)

// Notification is the rendered content of a push message.
type Notification struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url,omitempty"`
	Icon  string `json:"icon,omitempty"`
	// Tag is the idempotency key; service workers use it to collapse
	// duplicates.
	Tag  string            `json:"tag,omitempty"`
	Data map[string]string `json:"data,omitempty"`
}

func render(ts *templates.Set, m channels.Message, now time.Time) (Notification, error) {
	r, err := ts.Render(m.Template, templates.ChannelPush, m.TemplateData(now))
	if err != nil {
		return Notification{}, fmt.Errorf("%w: %w", channels.ErrRender, err)
	}
	return Notification{
		Title: m.Labelled(r.Title), Body: r.Text, URL: r.URL, Icon: r.Icon, Tag: m.IdempotencyKey,
		Data: map[string]string{"journey": m.Journey, "step": m.Step},
	}, nil
}
