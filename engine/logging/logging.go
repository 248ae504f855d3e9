package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// Redacted replaces the value of a sensitive attribute.
const Redacted = "[redacted]"

// SensitiveKeys are attribute keys (compared case-insensitively, after the
// last "." of a group path) whose values are always redacted.
var SensitiveKeys = []string{ //nolint:gochecknoglobals // read-only after initialisation
	"email", "emails", "phone", "phones", "user_id", "userid", "anonymous_id", "device_token", "line_user_id", "token",
	"address", "addr", "identifier", "identifiers", "ident", "recipient", "to", "from",
	"value", "values", "old", "new", "old_value", "new_value", "trait", "traits", "trait_value",
	"properties", "props", "payload", "body", "name", "first_name", "last_name", "ip", "row", "cell", "user",
}

// Options configure New.
type Options struct {
	// Level is the minimum level; default info.
	Level slog.Leveler
	// JSON writes JSON lines instead of logfmt-style text.
	JSON bool
	// ExtraSensitiveKeys adds keys (trait names, say) to SensitiveKeys.
	ExtraSensitiveKeys []string
}

// New returns a logger writing to w through a redacting handler.
func New(w io.Writer, opts Options) *slog.Logger {
	ho := &slog.HandlerOptions{Level: opts.Level}
	var inner slog.Handler
	if opts.JSON {
		inner = slog.NewJSONHandler(w, ho)
	} else {
		inner = slog.NewTextHandler(w, ho)
	}
	return slog.New(NewHandler(inner, opts.ExtraSensitiveKeys...))
}

// Handler redacts personal data before passing records to another handler.
type Handler struct {
	inner     slog.Handler
	sensitive map[string]bool
}

// NewHandler wraps inner. extra adds sensitive keys.
func NewHandler(inner slog.Handler, extra ...string) *Handler {
	m := make(map[string]bool, len(SensitiveKeys)+len(extra))
	for _, k := range SensitiveKeys {
		m[k] = true
	}
	for _, k := range extra {
		m[strings.ToLower(k)] = true
	}
	return &Handler{inner: inner, sensitive: m}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &Handler{inner: h.inner.WithAttrs(clean), sensitive: h.sensitive}
}

// WithGroup implements slog.Handler. Group names are scrubbed too.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(Scrub(name)), sensitive: h.sensitive}
}

func (h *Handler) isSensitive(key string) bool {
	k := strings.ToLower(key)
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		k = k[i+1:]
	}
	return h.sensitive[k]
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	key := Scrub(a.Key)
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		group := v.Group()
		clean := make([]slog.Attr, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		if h.isSensitive(a.Key) {
			return slog.String(key, Redacted)
		}
		return slog.Attr{Key: key, Value: slog.GroupValue(clean...)}
	}
	if h.isSensitive(a.Key) {
		return slog.String(key, Redacted)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(key, Scrub(v.String()))
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration, slog.KindTime:
		return slog.Attr{Key: key, Value: v}
	}
	// Any other value (errors, structs, slices, …) is formatted and scanned.
	if err, ok := v.Any().(error); ok {
		return slog.String(key, Scrub(err.Error()))
	}
	return slog.String(key, Scrub(fmt.Sprint(v.Any())))
}

var (
	emailRE = regexp.MustCompile(`(?i)[a-z0-9._%+\-']+@[a-z0-9.\-]+\.[a-z]{2,}`)
	// A phone: optional +, then 7 or more digits that may be broken by
	// up to two spaces, dots, dashes or parentheses at a time.
	phoneRE = regexp.MustCompile(`\+?\(?\d(?:[\s.\-()]{0,2}\d){6,}`)
)

// Scrub replaces email addresses and phone-like digit runs in s.
func Scrub(s string) string {
	if s == "" {
		return s
	}
	s = emailRE.ReplaceAllString(s, "[email]")
	return phoneRE.ReplaceAllString(s, "[phone]")
}
