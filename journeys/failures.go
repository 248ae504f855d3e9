package journeys

import (
	"context"
	"database/sql"
	"sort"
	"time"
)

// Failure is a send whose last attempt failed, with the provider's reason.
type Failure struct {
	Journey   string    `json:"journey"`
	Step      string    `json:"step"`
	Channel   string    `json:"channel"`
	ProfileID int64     `json:"profile_id"`
	At        time.Time `json:"at"`
	Reason    string    `json:"reason"`
}

// FailureCount is how many sends failed for one reason.
type FailureCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Failures lists the sends of journey ("" = every journey) whose last
// attempt since `since` failed, newest first, at most limit.
func (r *Runner) Failures(ctx context.Context, journey string, since time.Time, limit int) ([]Failure, error) {
	var out []Failure
	err := eachRow(ctx, r.db, q("failures"), []any{since, journey, journey, limit}, func(rows *sql.Rows) error {
		var f Failure
		err := rows.Scan(&f.Journey, &f.Step, &f.Channel, &f.ProfileID, &f.At, &f.Reason)
		out = append(out, f)
		return err
	})
	return out, err
}

// CountByReason groups failures by reason, most frequent first.
func CountByReason(fs []Failure) []FailureCount {
	n := map[string]int{}
	for _, f := range fs {
		n[f.Reason]++
	}
	out := make([]FailureCount, 0, len(n))
	for reason, c := range n {
		out = append(out, FailureCount{Reason: reason, Count: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}
