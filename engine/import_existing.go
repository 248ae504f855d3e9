package engine

import (
	"context"
	"fmt"
)

// existingOnly marks a context whose profile import may write only to
// profiles that exist; see UpdateProfiles.
type existingOnly struct{}

func isExistingOnly(ctx context.Context) bool {
	v, _ := ctx.Value(existingOnly{}).(bool)
	return v
}

// UnknownPersonError is UpdateProfiles refusing a row whose identifiers no
// profile holds (never imported, or erased since the caller read them).
// Nothing was written.
type UnknownPersonError struct {
	File string
	Line int
}

// Error names the input and the line.
func (e *UnknownPersonError) Error() string {
	return fmt.Sprintf("%s:%d: no profile holds this row's identifiers, and an update never creates one", e.File, e.Line)
}

// UpdateProfiles writes rows to existing profiles with the rules of the
// profile import (ImportRows with ImportProfiles), except that a row whose
// identifiers no profile holds is refused (*UnknownPersonError, nothing
// written) where an import would create a profile. A journey's update step
// writes through it: a person erased after the step read them is not
// brought back from what it read.
func (s *Store) UpdateProfiles(ctx context.Context, label string, rows []map[string]any) (ImportResult, error) {
	return s.ImportRows(context.WithValue(ctx, existingOnly{}, true), ImportProfiles, label, rows)
}

// refuseNewProfiles returns the refusal of the first row r gives a new
// profile (ids from next on), or nil when every row has an existing one.
func refuseNewProfiles(label string, r *resolution, next int64, lineOf func(int) int) error {
	for i, id := range r.recordProfile {
		if id >= next {
			return &UnknownPersonError{File: label, Line: lineOf(i)}
		}
	}
	return nil
}
