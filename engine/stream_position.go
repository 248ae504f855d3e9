package engine

import (
	"context"
	"database/sql"
	_ "embed" // stream_position.sql
	"errors"
	"fmt"

	"github.com/tactcdp/tact/internal/sqlblock"
)

//go:embed stream_position.sql
var streamPositionSQL string

// StreamPosition is the sequence of the last message of stream whose rows
// are committed (0: nothing consumed yet). The engine role of a cluster
// resumes after it (docs/scale-out.md).
func (s *Store) StreamPosition(ctx context.Context, stream string) (uint64, error) {
	q, err := streamPositionQuery("stream-position")
	if err != nil {
		return 0, err
	}
	var seq uint64
	err = s.db.QueryRowContext(ctx, q, stream).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("stream position of %s: %w", stream, err)
	}
	return seq, nil
}

// SetStreamPosition records that the rows of stream's messages up to seq
// are committed. It never moves a position back.
func (s *Store) SetStreamPosition(ctx context.Context, stream string, seq uint64) error {
	q, err := streamPositionQuery("stream-position-set")
	if err != nil {
		return err
	}
	return s.write(ctx, func(w *writer) error {
		if _, err := w.exec(q, stream, seq, s.now()); err != nil {
			return fmt.Errorf("stream position of %s: %w", stream, err)
		}
		return nil
	})
}

func streamPositionQuery(name string) (string, error) {
	blocks, err := sqlblock.Parse(streamPositionSQL)
	if err != nil {
		return "", err
	}
	q, ok := blocks[name]
	if !ok {
		return "", fmt.Errorf("engine: no sql block named %s in stream_position.sql", name)
	}
	return q, nil
}
