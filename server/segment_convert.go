package server

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"

	"github.com/tactcdp/tact/engine"
)

// convertMessage validates m and appends its rows to item.
func (s *Server) convertMessage(m *segMessage, received time.Time, item *ingestItem) *apiError {
	m.Type = strings.ToLower(strings.TrimSpace(m.Type))
	for _, c := range []struct {
		f string
		v segID
	}{{"messageId", m.MessageID}, {"userId", m.UserID}, {"anonymousId", m.AnonymousID}, {"previousId", m.PreviousID}, {"groupId", m.GroupID}} {
		if err := checkID(c.f, c.v); err != nil {
			return err
		}
	}
	ts, err := eventTime(m, received)
	if err != nil {
		return err
	}
	if terr := s.store.CheckEventTime(ts); terr != nil {
		field := "timestamp"
		if m.Timestamp == "" && m.OriginalTimestamp != "" {
			field = "originalTimestamp"
		}
		return badRequest(field, "%s", terr.Error())
	}
	ids := map[string]any{}
	if m.UserID != "" {
		ids[engine.KindUserID] = string(m.UserID)
	}
	if m.AnonymousID != "" {
		ids[engine.KindAnonymousID] = string(m.AnonymousID)
	}
	needID := func() *apiError {
		if len(ids) == 0 {
			return badRequest("userId", "userId or anonymousId is required")
		}
		return nil
	}
	event := func(name string, props map[string]any) {
		row := map[string]any{"event": name, "timestamp": ts}
		for k, v := range ids {
			row[k] = v
		}
		if len(props) > 0 {
			row["properties"] = props
		}
		// The context goes to the event's own context column, so the
		// properties stay exactly what the caller sent; only its part that
		// says where and how (keptContext) is stored.
		if c := keptContext(m.Context); c != nil {
			row["context"] = c
		}
		if m.MessageID != "" {
			row["message_id"] = string(m.MessageID)
		}
		item.events = append(item.events, row)
	}
	switch m.Type {
	case "identify":
		if err := needID(); err != nil {
			return err
		}
		row, err := s.profileRow(ids, m.Traits, m.Context, ts)
		if err != nil {
			return prefixErr("traits", err)
		}
		item.profiles = append(item.profiles, row)
		item.profileIDs = append(item.profileIDs, string(m.MessageID))
	case "track":
		if err := needID(); err != nil {
			return err
		}
		name := strings.TrimSpace(m.Event)
		if name == "" || len(name) > maxEventName {
			return badRequest("event", "want an event name of 1 to %d characters", maxEventName)
		}
		event(name, m.Properties)
	case "page", "screen":
		if err := needID(); err != nil {
			return err
		}
		props := copyMap(m.Properties)
		if m.Name != "" {
			props["name"] = m.Name
		}
		if m.Category != "" {
			props["category"] = m.Category
		}
		event(m.Type, props)
	case "group":
		if err := needID(); err != nil {
			return err
		}
		if m.GroupID == "" {
			return badRequest("groupId", "required")
		}
		props := map[string]any{"group_id": string(m.GroupID)}
		if len(m.Traits) > 0 {
			props["traits"] = m.Traits
		}
		event("group", props)
	case "alias":
		if m.UserID == "" {
			return badRequest("userId", "required")
		}
		if m.PreviousID == "" {
			return badRequest("previousId", "required")
		}
		// The previous id is the identifier the person had before (an
		// anonymous id, as the SDKs use it); linking it to the user id
		// makes them one profile. A profile never holds two user ids.
		item.profiles = append(item.profiles, map[string]any{
			engine.KindUserID: string(m.UserID), engine.KindAnonymousID: string(m.PreviousID)})
		item.profileIDs = append(item.profileIDs, string(m.MessageID))
	case "":
		return badRequest("type", "required (identify, track, page, screen, group or alias)")
	default:
		return badRequest("type", "unknown type %q (want identify, track, page, screen, group or alias)", m.Type)
	}
	return nil
}

func prefixErr(prefix string, err *apiError) *apiError {
	err.Field = prefixField(prefix, err.Field)
	return err
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// profileRow turns identify traits into a profile import row: email and
// phone become identities, nested objects are flattened with "_" (as
// Segment's warehouses do), camelCase keys become snake_case, nulls are
// missing values, and the message time orders conflicting updates.
func (s *Server) profileRow(ids map[string]any, traits, ctx map[string]any, ts time.Time) (map[string]any, *apiError) {
	row := map[string]any{"updated_at": ts}
	for k, v := range ids {
		row[k] = v
	}
	if tz, ok := ctx["timezone"].(string); ok && tz != "" {
		if _, err := time.LoadLocation(tz); err == nil {
			row["timezone"] = tz
		}
	}
	var walk func(prefix string, m map[string]any) *apiError
	walk = func(prefix string, m map[string]any) *apiError {
		for k, v := range m {
			name := snake(k)
			if prefix != "" {
				name = prefix + "_" + name
			}
			if name == "" {
				return badRequest(k, "empty trait name")
			}
			switch {
			case name == engine.KindUserID || name == engine.KindAnonymousID || name == "id":
				// Identifiers come from userId/anonymousId; the traits
				// copy (Segment's traits.id) is not a trait.
				continue
			case engine.IsAddressKind(name): // email, phone, device_token, line_user_id
				sv, ok := v.(string)
				if v == nil {
					continue
				}
				if !ok {
					return badRequest(k, "want a string")
				}
				sv, err := s.store.NormaliseIdentifier(name, sv)
				if err != nil {
					return badRequest(k, "%v", err)
				}
				row[name] = sv
				continue
			case name == "timezone":
				if tz, ok := v.(string); ok {
					if _, err := time.LoadLocation(tz); err != nil {
						return badRequest(k, "not an IANA time zone")
					}
				}
			}
			switch x := v.(type) {
			case nil:
				continue
			case map[string]any:
				if prefix != "" && strings.Count(name, "_") > 8 {
					return badRequest(k, "nested too deeply")
				}
				if err := walk(name, x); err != nil {
					return err
				}
				continue
			case []any:
				list := make([]any, 0, len(x))
				for _, it := range x {
					switch it.(type) {
					case map[string]any, []any:
						b, _ := json.Marshal(it)
						list = append(list, string(b))
					default:
						list = append(list, it)
					}
				}
				row[name] = list
			default:
				row[name] = v
			}
		}
		return nil
	}
	if err := walk("", traits); err != nil {
		return nil, err
	}
	return row, nil
}

// snake turns "firstName" into "first_name" and "Plan Type" into
// "plan_type"; the store normalises further.
func snake(k string) string {
	var b strings.Builder
	rs := []rune(strings.TrimSpace(k))
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		if r == ' ' || r == '-' || r == '.' {
			b.WriteByte('_')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
