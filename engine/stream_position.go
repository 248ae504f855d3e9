package engine

import (
	"context"
	"database/sql"
	_ "embed" // stream_position.sql
	"errors"
	"fmt"
	"time"

	"github.com/tactcdp/tact/internal/sqlblock"
)

//go:embed stream_position.sql
var streamPositionSQL string

// StreamPosition is how far the engine has consumed a stream: the
// sequence of the last message whose rows are committed, in the stream
// created at Created (a stream made again restarts its sequences at 1).
// The zero value: nothing consumed yet.
type StreamPosition struct {
	Seq     uint64
	Created time.Time
}

// StreamPosition is the stored position of stream. The engine role of a
// cluster resumes after it (docs/scale-out.md).
func (s *Store) StreamPosition(ctx context.Context, stream string) (StreamPosition, error) {
	q, err := streamPositionQuery("stream-position")
	if err != nil {
		return StreamPosition{}, err
	}
	var p StreamPosition
	err = s.db.QueryRowContext(ctx, q, stream).Scan(&p.Seq, &p.Created)
	if errors.Is(err, sql.ErrNoRows) {
		return StreamPosition{}, nil
	}
	if err != nil {
		return StreamPosition{}, fmt.Errorf("stream position of %s: %w", stream, err)
	}
	p.Created = p.Created.UTC()
	return p, nil
}

// SetStreamPosition records that the rows of stream's messages up to p.Seq
// are committed. The one engine is the only writer, so the position is
// simply replaced (it goes back to 0 when the stream was made again).
func (s *Store) SetStreamPosition(ctx context.Context, stream string, p StreamPosition) error {
	q, err := streamPositionQuery("stream-position-set")
	if err != nil {
		return err
	}
	return s.write(ctx, func(w *writer) error {
		if _, err := w.exec(q, stream, p.Seq, p.Created.UTC().Truncate(time.Microsecond), s.now()); err != nil {
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
