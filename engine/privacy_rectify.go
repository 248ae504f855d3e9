package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// RectifyResult says what a rectification changed: trait names only.
type RectifyResult struct {
	Request Request  `json:"request"`
	Changed []string `json:"changed"`
}

// rectifyValue is one checked change.
type rectifyValue struct {
	name  string
	typ   TraitType
	value any // nil clears the value
}

// Rectify corrects a person's traits (and timezone). Each value is given as
// text and checked against the trait catalog's type: integers, numbers,
// booleans, RFC 3339 timestamps or dates, strings, and JSON arrays for list
// traits; an empty value clears the trait (makes it missing). Unknown trait
// names are rejected: rectification corrects data, it does not add new
// kinds of it. Identities (email, phone, user_id, ...) are not traits and
// are not rectified here. The audit entry holds the trait names and a keyed
// hash of each old value (KeyedValueHash), never a value.
func (s *Store) Rectify(ctx context.Context, user string, set map[string]string, opts PrivacyOptions) (RectifyResult, error) {
	if len(set) == 0 {
		return RectifyResult{}, &ValidationError{Field: "set", Msg: "nothing to change"}
	}
	types, err := s.traitTypes(ctx)
	if err != nil {
		return RectifyResult{}, err
	}
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	changes := make([]rectifyValue, 0, len(names))
	for _, raw := range names {
		name := strings.TrimSpace(raw)
		v, err := checkRectifyValue(name, set[raw], types)
		if err != nil {
			return RectifyResult{}, err
		}
		changes = append(changes, v)
	}
	var res RectifyResult
	err = s.write(ctx, func(w *writer) error {
		id, err := s.resolveIn(w, user)
		if err != nil {
			return err
		}
		req, err := s.beginRequest(w, RequestRectify, id, opts)
		if err != nil {
			return err
		}
		old, err := s.Profile(ctx, id)
		if err != nil {
			return err
		}
		var sets []string
		var args []any
		audited := make([]map[string]any, 0, len(changes))
		for _, c := range changes {
			var prev any
			if c.name == "timezone" {
				if old.Timezone != "" {
					prev = old.Timezone
				}
			} else {
				prev = old.Traits[c.name]
			}
			entry := map[string]any{"trait": c.name, "was_missing": prev == nil, "cleared": c.value == nil}
			if prev != nil {
				entry["old_value_hash"] = s.KeyedValueHash("trait:"+c.name, prev)
			}
			audited = append(audited, entry)
			res.Changed = append(res.Changed, c.name)
			if c.typ.IsList() && c.value != nil {
				sets = append(sets, fmt.Sprintf("%s = CAST(CAST(? AS JSON) AS %s)", quoteIdent(c.name), c.typ))
			} else {
				sets = append(sets, fmt.Sprintf("%s = CAST(? AS %s)", quoteIdent(c.name), c.typ))
			}
			args = append(args, c.value)
		}
		sets = append(sets, "updated_at = ?")
		args = append(args, s.now(), id)
		if _, err := w.exec(fmt.Sprintf(`UPDATE profiles SET %s WHERE id = ?`, strings.Join(sets, ", ")), args...); err != nil {
			return fmt.Errorf("rectify: %w", err)
		}
		if err := s.completeRequest(w, &req, fmt.Sprintf("rectified %d field(s)", len(changes))); err != nil {
			return err
		}
		res.Request = req
		return s.audit(w, orStr(opts.Actor, "operator"), AuditPrivacyRectify, profileSubject(id), map[string]any{"request_id": req.ID, "traits": audited})
	})
	if err != nil {
		return RectifyResult{}, err
	}
	s.log.Info("profile rectified", "request_id", res.Request.ID, "fields", len(res.Changed))
	return res, nil
}

// checkRectifyValue type-checks one value against the catalog.
func checkRectifyValue(name, text string, types map[string]TraitType) (rectifyValue, error) {
	field := "set." + name
	if name == "timezone" {
		tz := strings.TrimSpace(text)
		if tz == "" {
			return rectifyValue{name: name, typ: TypeString}, nil
		}
		if _, err := time.LoadLocation(tz); err != nil || strings.EqualFold(tz, "local") {
			return rectifyValue{}, &ValidationError{Field: field, Msg: "not an IANA time zone"}
		}
		return rectifyValue{name: name, typ: TypeString, value: tz}, nil
	}
	if isIdentityKind(name) {
		return rectifyValue{}, &ValidationError{Field: field, Msg: fmt.Sprintf("%s is an identity, not a trait; it cannot be rectified with --set", name)}
	}
	want, ok := types[name]
	if !ok {
		return rectifyValue{}, &ValidationError{Field: field, Msg: fmt.Sprintf("unknown trait %q (rectification changes existing traits)", name)}
	}
	if text == "" {
		return rectifyValue{name: name, typ: want}, nil
	}
	c := cell{present: true, text: text, kind: cellText}
	if want.IsList() {
		if !json.Valid([]byte(text)) || !strings.HasPrefix(strings.TrimSpace(text), "[") {
			return rectifyValue{}, &ValidationError{Field: field, Msg: fmt.Sprintf("trait %q holds %s; give a JSON array", name, describeType(want))}
		}
		c = cell{present: true, raw: json.RawMessage(text), kind: cellJSON}
	}
	if !fits(classify(c), want) {
		return rectifyValue{}, &ValidationError{Field: field, Msg: fmt.Sprintf("trait %q holds %s; the given value is not one", name, describeType(want))}
	}
	v, err := convert(c, want)
	if err != nil {
		return rectifyValue{}, &ValidationError{Field: field, Msg: fmt.Sprintf("trait %q holds %s; the given value is not one", name, describeType(want))}
	}
	if want.IsList() {
		b, err := json.Marshal(v)
		if err != nil {
			return rectifyValue{}, err
		}
		v = string(b)
	}
	return rectifyValue{name: name, typ: want, value: v}, nil
}
