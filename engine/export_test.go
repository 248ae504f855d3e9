package engine

import "context"

// RowByRow returns ctx with imports forced onto the row-by-row path, for
// comparing it with the set-based one.
func RowByRow(ctx context.Context) context.Context {
	return context.WithValue(ctx, rowByRowKey{}, true)
}
