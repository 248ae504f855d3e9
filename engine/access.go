package engine

import (
	"context"
	"regexp"
)

// DataAccess describes one read or export of personal data for the audit
// log: who (Actor), what (e.g. "segment members", "profile show",
// "consent history"), about whom (ProfileID, or an expression for a member
// list) and how many rows left the system.
type DataAccess struct {
	Actor     string
	What      string
	ProfileID int64
	// Expr is the segment expression of a member list. The audit log keeps
	// it with its string literals masked (they may be addresses) and a
	// keyed hash of the whole text, never the literals themselves.
	Expr    string
	Purpose string
	Channel string
	Format  string
	// Fields is "profile_id" (ids only) or "contact" (ids with user_id,
	// email, phone and timezone); empty for reads of one person.
	Fields string
	// Traits are the trait columns a member list added after its fixed
	// columns; those that are identities (user_id, email, phone) are
	// also named apart as contact data.
	Traits []string
	Rows   int64
}

var exprLiteral = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")

// MaskExpression replaces an expression's string literals with "?": the
// shape of the query without the values it names.
func MaskExpression(expr string) string { return exprLiteral.ReplaceAllString(expr, `"?"`) }

// RecordAccess appends an admin-read entry (AuditAdminRead) for a read or
// export of personal data: a member list, a profile, a consent history.
func (s *Store) RecordAccess(ctx context.Context, a DataAccess) error {
	subject := "segment"
	details := map[string]any{"what": a.What, "rows": a.Rows}
	if a.ProfileID != 0 {
		subject = profileSubject(a.ProfileID)
	}
	if a.Expr != "" {
		details["expr"] = MaskExpression(a.Expr)
		details["expr_hash"] = s.KeyedValueHash("expr", a.Expr)
	}
	for k, v := range map[string]string{"purpose": a.Purpose, "channel": a.Channel, "format": a.Format, "fields": a.Fields} {
		if v != "" {
			details[k] = v
		}
	}
	if len(a.Traits) > 0 {
		details["traits"] = a.Traits
		var contact []string
		for _, t := range a.Traits {
			if isIdentityKind(t) {
				contact = append(contact, t)
			}
		}
		if len(contact) > 0 {
			details["contact_traits"] = contact
		}
	}
	return s.write(ctx, func(w *writer) error {
		return s.audit(w, orStr(a.Actor, "operator"), AuditAdminRead, subject, details)
	})
}
