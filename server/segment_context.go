package server

// keptContext is the part of a Segment message's context stored with its
// event (events.context): where and how it happened (page, campaign, app,
// locale, library, device type, os), never the IP address, user agent,
// device id or other identifiers, which a CDP that promises data
// minimisation has no use for. Nil when nothing is kept.
func keptContext(ctx map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"page", "campaign", "app", "locale", "timezone", "library", "channel", "screen"} {
		if v, ok := ctx[k]; ok && v != nil {
			out[k] = v
		}
	}
	if d, ok := ctx["device"].(map[string]any); ok {
		if t, ok := d["type"]; ok {
			out["device"] = map[string]any{"type": t}
		}
	}
	if o, ok := ctx["os"].(map[string]any); ok {
		out["os"] = o
	}
	if p, ok := out["page"].(map[string]any); ok {
		// A page's referrer and search can carry personal data of other
		// sites; keep path, title and url only.
		kept := map[string]any{}
		for _, k := range []string{"path", "title", "url"} {
			if v, ok := p[k]; ok {
				kept[k] = v
			}
		}
		out["page"] = kept
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
