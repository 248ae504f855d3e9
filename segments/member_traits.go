package segments

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tactcdp/tact/engine"
)

// TraitError refuses a trait column asked of a member export: an unknown
// name, a name given twice, or the member id column's name.
type TraitError struct {
	Name   string
	Reason string   // "unknown", "repeated" or "reserved"
	Known  []string // the names a member export can add, for "unknown"
}

func (e *TraitError) Error() string {
	switch e.Reason {
	case "repeated":
		return fmt.Sprintf("trait %q is named twice", e.Name)
	case "reserved":
		return fmt.Sprintf("%q is the member id column, not a trait", e.Name)
	}
	if e.Name == "" {
		return "empty trait name"
	}
	known := e.Known
	const shown = 20
	more := ""
	if len(known) > shown {
		more = fmt.Sprintf(" and %d more", len(known)-shown)
		known = known[:shown]
	}
	if len(known) == 0 {
		return fmt.Sprintf("unknown trait %q (the database holds no traits)", e.Name)
	}
	return fmt.Sprintf("unknown trait %q (known: %s%s)", e.Name, strings.Join(known, ", "), more)
}

// contactColumns are the profile columns a member export may add by name
// besides the traits: the contact columns of MemberSchema. In a list of
// ids only they are the operator's explicit choice; the audit names them.
func contactColumns() []string { return fieldNames()[1:] }

// IsContactColumn reports whether name is one of the member list's
// contact columns (user_id, email, phone, timezone) rather than a trait.
func IsContactColumn(name string) bool { return slices.Contains(contactColumns(), name) }

// MemberTraits resolves the trait columns a member export adds after its
// fixed columns: with all, every trait of the catalogue (in catalogue
// order), then each named column not already there. A name is a trait or
// a contact column (user_id, email, phone, timezone); anything else is a
// *TraitError, returned before any work.
func MemberTraits(ctx context.Context, st *engine.Store, names []string, all bool) ([]engine.Trait, error) {
	if len(names) == 0 && !all {
		return nil, nil
	}
	catalogue, err := st.Traits(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]engine.Trait{}
	var knownNames []string
	for _, c := range contactColumns() {
		known[c] = engine.Trait{Name: c, Type: engine.TypeString}
		knownNames = append(knownNames, c)
	}
	for _, t := range catalogue {
		if t.Name == memberIDColumn {
			continue
		}
		known[t.Name] = t
		knownNames = append(knownNames, t.Name)
	}
	var out []engine.Trait
	if all {
		for _, t := range catalogue {
			if t.Name != memberIDColumn {
				out = append(out, t)
			}
		}
	}
	named := map[string]bool{}
	for _, raw := range names {
		name := strings.TrimSpace(raw)
		switch {
		case name == memberIDColumn:
			return nil, &TraitError{Name: name, Reason: "reserved"}
		case named[name]:
			return nil, &TraitError{Name: name, Reason: "repeated"}
		}
		t, ok := known[name]
		if !ok {
			return nil, &TraitError{Name: name, Reason: "unknown", Known: knownNames}
		}
		named[name] = true
		if !slices.ContainsFunc(out, func(x engine.Trait) bool { return x.Name == name }) {
			out = append(out, t)
		}
	}
	return out, nil
}

// memberIDColumn is the first column of every member export.
const memberIDColumn = "profile_id"

// SplitTraits splits a comma-separated --traits value into names (empty
// items dropped, so "a,,b" and "a, b" both name a and b).
func SplitTraits(list string) []string {
	var out []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}
