package consent

import (
	"fmt"
	"strings"
	"time"
)

// GrantSQL returns a query over relation yielding one row (profile_id,
// granted BOOLEAN, reason VARCHAR) for every profile with at least one
// matching entry; reason is the Reason Evaluate gives. Profiles absent from
// the result have no matching entry: not granted, ReasonNoEntry.
//
// relation is a table or subquery with the columns profile_id, purpose,
// channel, status, effective_at, recorded_at, expires_at, notice_version,
// seq and denial_at: the latest recording instant of a withdrawal or denial
// the row stands for (its own recorded_at when it is one; NULL for a grant
// of the raw ledger). The current-state table keeps, per key, every entry a
// later recording could still leave deciding, with the key's denial_at.
//
// It is Evaluate written as SQL: the same matching (no wildcard purpose for
// transactional), the same supersession (nothing recorded before the latest
// matching denial counts), the same precedence (Later) and the same tests of
// expiry and notice version. No caller text is spliced in; purpose, channel
// and at travel as bind parameters.
func GrantSQL(p Policy, relation, purpose, channel string, at time.Time) (string, []any, error) {
	if purpose == Wildcard || !p.Known(purpose) {
		return "", nil, fmt.Errorf("unknown purpose %q", purpose)
	}
	if !KnownChannel(channel) {
		return "", nil, fmt.Errorf("unknown channel %q", channel)
	}
	version := "TRUE"
	var vargs []any
	if any, versions, nullOK := p.acceptedVersions(purpose); !any {
		ph := make([]string, len(versions))
		for i, v := range versions {
			ph[i] = "?"
			vargs = append(vargs, v)
		}
		version = "notice_version IN (" + strings.Join(ph, ", ") + ")"
		if nullOK {
			version = "(notice_version IS NULL OR " + version + ")"
		}
	}
	purposeMatch := "purpose IN (?, '*')"
	if purpose == Transactional {
		purposeMatch = "purpose = ?"
	}
	args := append([]any{at}, vargs...)
	args = append(args, purpose, channel, at)
	// The decided value is never NULL: DuckDB's arg_max skips NULL values,
	// which would let an older entry decide. Precedence as one sortable
	// number: effective instant, then denial before grant, then append order.
	q := fmt.Sprintf(`SELECT profile_id, arg_max(reason, %[4]s) = 'granted' AS granted, arg_max(reason, %[4]s) AS reason
FROM (
  SELECT profile_id, effective_at, status, seq, recorded_at,
    CASE WHEN status = 'withdrawn' THEN 'withdrawn'
         WHEN status <> 'granted' THEN 'denied'
         WHEN expires_at IS NOT NULL AND expires_at <= ?::TIMESTAMP THEN 'expired'
         WHEN NOT coalesce(%[1]s, false) THEN 'reconsent_required'
         ELSE 'granted' END AS reason,
    max(denial_at) OVER (PARTITION BY profile_id) AS cut
  FROM %[2]s
  WHERE %[3]s AND channel IN (?, '*') AND effective_at <= ?::TIMESTAMP
) m
WHERE cut IS NULL OR recorded_at >= cut
GROUP BY profile_id`, version, relation, purposeMatch, Precedence)
	return q, args, nil
}

// Precedence is consent.Later as one sortable SQL number over the columns
// effective_at, status and seq.
const Precedence = `(epoch_us(effective_at)::HUGEINT * 8589934592 + (CASE WHEN status = 'granted' THEN 0 ELSE 4294967296 END) + seq)`
