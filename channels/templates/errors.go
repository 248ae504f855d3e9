package templates

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by *Error. Test with errors.Is.
var (
	ErrUnknownTemplate   = errors.New("unknown template")
	ErrSyntax            = errors.New("template syntax error")
	ErrFrontMatter       = errors.New("invalid front matter")
	ErrMissingField      = errors.New("reference to unknown field")
	ErrNoUnsubscribeLink = errors.New("marketing email without unsubscribe link")
	ErrRender            = errors.New("rendering failed")
	ErrChannel           = errors.New("wrong channel")
	// ErrLINEMessage: a LINE template does not render to a valid array of
	// LINE message objects (JSON syntax, unknown type, size limits, missing
	// altText); Error.Detail names the line, column and JSON pointer.
	ErrLINEMessage = errors.New("invalid LINE message")
)

// Error locates a template problem.
type Error struct {
	// Template is the template name; File the file ("" when not file-bound).
	Template string
	File     string
	// Kind is one of the sentinel errors above.
	Kind error
	// Detail explains, e.g. `.traits.frist_name: no such trait`.
	Detail string
}

func (e *Error) Error() string {
	loc := e.Template
	if e.File != "" {
		loc = e.File
	}
	if e.Detail == "" {
		return fmt.Sprintf("template %s: %v", loc, e.Kind)
	}
	return fmt.Sprintf("template %s: %v: %s", loc, e.Kind, e.Detail)
}

func (e *Error) Unwrap() error { return e.Kind }
