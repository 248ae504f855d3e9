package engine

import (
	"context"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine/consent"
)

func (s *Store) importConsents(ctx context.Context, src source) (ImportResult, error) {
	res := ImportResult{}
	now := s.now()
	err := s.write(ctx, func(w *writer) error {
		if err := w.temp("_cs", "_row BIGINT, _pkind VARCHAR, _pvalue VARCHAR, purpose VARCHAR, channel VARCHAR, status VARCHAR, effective_at TIMESTAMP, expires_at TIMESTAMP, notice_version VARCHAR, source VARCHAR, actor VARCHAR, entry_key VARCHAR"); err != nil {
			return err
		}
		var runs idSetRuns
		h := newHeader(src.name(), ImportConsents)
		n := 0
		pull, done := streamRows(ctx, src, h, func(rc *rowCtx) (stagedRow, error) {
			ids, err := rc.identities(s.cfg.DefaultRegion)
			if err != nil {
				return stagedRow{}, err
			}
			row, err := s.consentRow(rc, ids, n, src.name())
			st := stagedRow{values: row, idSet: runs.next(ids, n, rc.line)}
			n++
			return st, err
		})
		appendErr := appendStaged(w, "_cs", pull)
		if err := done(); err != nil {
			return err
		}
		if appendErr != nil {
			return appendErr
		}
		res.Rows = n
		lines, err := s.stageIdentitySets(w)
		if err != nil {
			return err
		}
		if err := s.upsertIdentitySets(w, lines, src.name(), &res); err != nil {
			return err
		}
		releaseGoMemory(n)
		if _, err := w.exec(`CREATE OR REPLACE TEMP TABLE _csp AS SELECT i.profile_id, s.* FROM _cs s JOIN identities i ON i.kind = s._pkind AND i.value = s._pvalue`); err != nil {
			return err
		}
		w.temps = append(w.temps, "_csp")
		added, err := s.appendLedger(w, "_csp", now)
		if err != nil {
			return err
		}
		res.ConsentsAdded = added
		res.ConsentsDuplicate = n - added
		if added == 0 {
			return nil
		}
		return s.audit(w, "import", AuditConsentImported, "import", map[string]any{
			"input": filepath.Base(src.name()), "rows": n, "added": added, "duplicates": n - added})
	})
	return res, err
}

// appendLedger appends the staged entries not already in the ledger and
// refreshes the current state of the profiles they concern.
func (s *Store) appendLedger(w *writer, stage string, now time.Time) (int, error) {
	var before, after int
	var lastSeq int64 // seqs may have gaps after an erasure, so count and max differ
	if err := w.queryRow(`SELECT count(*), coalesce(max(seq), 0) FROM consent_ledger`).Scan(&before, &lastSeq); err != nil {
		return 0, err
	}
	if _, err := w.exec(fmt.Sprintf(s.query("append-ledger"), stage), now); err != nil {
		return 0, fmt.Errorf("append consent ledger: %w", err)
	}
	if err := w.queryRow(`SELECT count(*) FROM consent_ledger`).Scan(&after); err != nil {
		return 0, err
	}
	if after == before {
		return 0, nil
	}
	// Identifiers of erased people coming back: withdraw their old consent
	// (see applyErasures).
	if _, err := s.applyErasures(w, lastSeq, now); err != nil {
		return 0, err
	}
	err := s.rebuildConsentState(w, fmt.Sprintf(`SELECT profile_id FROM consent_ledger WHERE seq > %d`, lastSeq))
	return after - before, err
}

func (s *Store) consentRow(rc *rowCtx, ids [numKinds]string, rowNo int, file string) ([]driver.Value, error) {
	h := rc.h
	if err := h.require("status", "timestamp"); err != nil {
		return nil, err
	}
	str := func(name string, required bool) (string, int, error) {
		i, ok := h.roles[name]
		if !ok {
			return "", -1, nil
		}
		c := cellAt(rc.cells, i)
		if !c.present {
			if required {
				return "", i, rc.errAt(i, name+" is required")
			}
			return "", i, nil
		}
		v, ok := cellString(c)
		if !ok {
			return "", i, rc.errAt(i, "want a string")
		}
		return strings.TrimSpace(v), i, nil
	}
	status, si, err := str("status", true)
	if err != nil {
		return nil, err
	}
	st := consent.Status(strings.ToLower(status))
	if !consent.ValidStatus(st) {
		return nil, rc.errAt(si, fmt.Sprintf("unknown status %q (want granted, denied or withdrawn)", status))
	}
	purpose, pi, err := str("purpose", false)
	if err != nil {
		return nil, err
	}
	channel, ci, err := str("channel", false)
	if err != nil {
		return nil, err
	}
	purpose, channel = strings.ToLower(purpose), strings.ToLower(channel)
	purpose, channel, miss := withdrawAll(purpose, channel, st)
	if miss != nil {
		col := pi
		if miss.field == "channel" {
			col = ci
		}
		if col < 0 {
			return nil, rc.errRow(fmt.Sprintf("%s: %s", miss.field, miss.msg))
		}
		return nil, rc.errAt(col, miss.msg)
	}
	if purpose != consent.Wildcard && !s.policy.Known(purpose) {
		return nil, rc.errAt(pi, fmt.Sprintf("unknown purpose %q (configure it under purposes:, or use *)", purpose))
	}
	if channel != consent.Wildcard && !consent.KnownChannel(channel) {
		return nil, rc.errAt(ci, fmt.Sprintf("unknown channel %q (want email, sms, push, webhook or *)", channel))
	}
	ti := h.roles["timestamp"]
	tc := cellAt(rc.cells, ti)
	if !tc.present {
		return nil, rc.errAt(ti, "timestamp is required")
	}
	eff, err := cellTime(tc)
	if err != nil {
		return nil, rc.errAt(ti, err.Error())
	}
	var exp time.Time
	if ei, ok := h.roles["expires_at"]; ok {
		if ec := cellAt(rc.cells, ei); ec.present {
			if exp, err = cellTime(ec); err != nil {
				return nil, rc.errAt(ei, err.Error())
			}
			if !exp.After(eff) {
				return nil, rc.errAt(ei, "expires_at must be after timestamp")
			}
		}
	}
	version, _, err := str("version", false)
	if err != nil {
		return nil, err
	}
	source, _, err := str("source", false)
	if err != nil {
		return nil, err
	}
	if source == "" {
		source = "import"
	}
	actor, _, err := str("actor", false)
	if err != nil {
		return nil, err
	}
	if actor == "" {
		actor = "import"
	}
	kind, value := primary(ids)
	key := digest(kind, value, purpose, channel, string(st), eff.Format(time.RFC3339Nano), exp.Format(time.RFC3339Nano), version, source)
	return []driver.Value{int64(rowNo), kind, value, purpose, channel, string(st), eff, nullTime(exp), nullable(version), source, actor, key}, nil
}
