package journeys

import (
	"errors"
	"fmt"
)

// Errors a caller can act on (errors.Is).
var (
	// ErrNotFound: no journey has that name.
	ErrNotFound = errors.New("journeys: no such journey")
	// ErrPaused: the journey is paused; nobody enters it.
	ErrPaused = errors.New("journey is paused")
	// ErrNotAPIEntry: the journey is not entered through the API.
	ErrNotAPIEntry = errors.New("journey is not entered through the API")
)

// StateError is an operation the journey's state refuses; errors.Is its
// Err (ErrPaused, ErrNotAPIEntry).
type StateError struct {
	Journey string
	Err     error
	// Detail adds what the state is ("segment entry").
	Detail string
}

func (e *StateError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s: %v (%s)", e.Journey, e.Err, e.Detail)
	}
	return fmt.Sprintf("%s: %v", e.Journey, e.Err)
}

// Unwrap is Err.
func (e *StateError) Unwrap() error { return e.Err }

// NotFoundError names the missing journey; errors.Is(err, ErrNotFound).
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("no journey named %q", e.Name) }

// Is reports target == ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }
