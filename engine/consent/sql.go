package consent

import (
	"fmt"
	"strings"
	"time"
)

// GrantSQL returns a query over relation (a table or subquery with the
// columns profile_id, purpose, channel, status, effective_at, expires_at,
// notice_version, seq) yielding one row (profile_id, granted BOOLEAN) for
// every profile with at least one matching entry. Profiles absent from the
// result have no matching entry and are therefore not granted.
//
// It is Evaluate written as SQL: the same matching, the same precedence
// (Later) and the same tests of expiry and notice version. No caller text is
// spliced in; purpose, channel and at travel as bind parameters.
func GrantSQL(p Policy, relation, purpose, channel string, at time.Time) (string, []any, error) {
	if purpose == Wildcard || !p.Known(purpose) {
		return "", nil, fmt.Errorf("unknown purpose %q", purpose)
	}
	if !KnownChannel(channel) {
		return "", nil, fmt.Errorf("unknown channel %q", channel)
	}
	args := []any{at}
	version := "TRUE"
	if any, versions, nullOK := p.acceptedVersions(purpose); !any {
		ph := make([]string, len(versions))
		for i, v := range versions {
			ph[i] = "?"
			args = append(args, v)
		}
		version = "notice_version IN (" + strings.Join(ph, ", ") + ")"
		if nullOK {
			version = "(notice_version IS NULL OR " + version + ")"
		}
	}
	args = append(args, purpose, channel, at)
	// The decided value is never NULL: DuckDB's arg_max skips NULL values,
	// which would let an older entry decide.
	// Precedence as one sortable number: effective instant, then denial
	// before grant, then append order.
	q := fmt.Sprintf(`SELECT profile_id,
  arg_max(coalesce(status = 'granted' AND (expires_at IS NULL OR expires_at > ?::TIMESTAMP) AND %s, false),
          epoch_us(effective_at)::HUGEINT * 8589934592 + (CASE WHEN status = 'granted' THEN 0 ELSE 4294967296 END) + seq) AS granted
FROM %s
WHERE purpose IN (?, '*') AND channel IN (?, '*') AND effective_at <= ?::TIMESTAMP
GROUP BY profile_id`, version, relation)
	return q, args, nil
}
