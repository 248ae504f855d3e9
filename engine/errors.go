package engine

import (
	"errors"
	"fmt"
)

// ImportError names the place in an input that was rejected. The whole
// input is rejected with it: nothing of the file is written.
type ImportError struct {
	File   string
	Line   int    // 1-based; 0 when the error concerns the whole file
	Column int    // 1-based character column (CSV); 0 when not applicable
	Field  string // column or key name, when known
	Msg    string
}

func (e *ImportError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += fmt.Sprintf(":%d", e.Line)
		if e.Column > 0 {
			loc += fmt.Sprintf(":%d", e.Column)
		}
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: field %q: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// ErrNotFound is returned when no profile matches an identifier or id.
var ErrNotFound = errors.New("not found")

// NotFoundError says which identifier found nobody. It matches ErrNotFound.
type NotFoundError struct{ What string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("no profile matches %s", e.What) }

// Is makes NotFoundError match ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ValidationError is a rejected argument, naming the field.
type ValidationError struct {
	Field string
	Msg   string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Msg) }
