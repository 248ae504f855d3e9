package consent

import (
	"errors"
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
	return grantSQL(p, relation, purpose, []string{channel}, false, at)
}

// GrantsByChannelSQL is GrantSQL for several channels in one pass: one row
// (profile_id, channel, granted, reason) for every profile and channel of
// channels with at least one matching entry, each decided exactly as
// GrantSQL decides that channel alone. Where a caller needs the decisions
// of several channels, one query costs one plan instead of one per channel
// (planning, not execution, is most of what a decision over a small
// relation costs). The channels travel as bind parameters.
func GrantsByChannelSQL(p Policy, relation, purpose string, channels []string, at time.Time) (string, []any, error) {
	if len(channels) == 0 {
		return "", nil, errors.New("no channel to decide")
	}
	return grantSQL(p, relation, purpose, channels, true, at)
}

// grantSQL writes the rule for one channel (byChannel false: the query has
// no channel column) or for each of channels (the entries are paired with
// every target channel they match and decided per profile and target).
func grantSQL(p Policy, relation, purpose string, channels []string, byChannel bool, at time.Time) (string, []any, error) {
	if purpose == Wildcard || !p.Known(purpose) {
		return "", nil, fmt.Errorf("unknown purpose %q", purpose)
	}
	for _, ch := range channels {
		if !KnownChannel(ch) {
			return "", nil, fmt.Errorf("unknown channel %q", ch)
		}
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
	// One channel: matched by a parameter. Several: a VALUES list of
	// targets joined to the entries, the target in every partition and
	// group, so that each target's decision sees the entries it alone would.
	target, source, channelMatch, key, channelColumn := "", relation, "channel IN (?, '*')", "profile_id", ""
	if byChannel {
		rows := make([]string, len(channels))
		for i, ch := range channels {
			rows[i] = "(?::VARCHAR)"
			args = append(args, ch)
		}
		target, key, channelColumn = "target, ", "profile_id, target", "target AS channel, "
		source = relation + " JOIN (VALUES " + strings.Join(rows, ", ") + ") t(target) ON channel IN (t.target, '*')"
		channelMatch = "TRUE"
		args = append(args, purpose, at)
	} else {
		args = append(args, purpose, channels[0], at)
	}
	// The decided value is never NULL: DuckDB's arg_max skips NULL values,
	// which would let an older entry decide. Precedence as one sortable
	// number: effective instant, then denial before grant, then append order.
	q := fmt.Sprintf(`SELECT profile_id, %[7]sarg_max(reason, %[4]s) = 'granted' AS granted, arg_max(reason, %[4]s) AS reason
FROM (
  SELECT profile_id, %[5]seffective_at, status, seq, recorded_at,
    CASE WHEN status = 'withdrawn' THEN 'withdrawn'
         WHEN status <> 'granted' THEN 'denied'
         WHEN expires_at IS NOT NULL AND expires_at <= ?::TIMESTAMP THEN 'expired'
         WHEN NOT coalesce(%[1]s, false) THEN 'reconsent_required'
         ELSE 'granted' END AS reason,
    max(denial_at) OVER (PARTITION BY %[6]s) AS cut
  FROM %[2]s
  WHERE %[3]s AND %[8]s AND effective_at <= ?::TIMESTAMP
) m
WHERE cut IS NULL OR recorded_at >= cut
GROUP BY %[6]s`, version, source, purposeMatch, Precedence, target, key, channelColumn, channelMatch)
	return q, args, nil
}

// Precedence is consent.Later as one sortable SQL number over the columns
// effective_at, status and seq.
const Precedence = `(epoch_us(effective_at)::HUGEINT * 8589934592 + (CASE WHEN status = 'granted' THEN 0 ELSE 4294967296 END) + seq)`
