package engine

import (
	"fmt"
	"strings"
)

// writeProfileRows folds the staged rows and the existing rows of every
// profile they touch (including profiles merged away) into one row per
// profile: for each column the most recent non-missing value wins, so a
// missing value never erases one, and older rows only fill gaps.
func (s *Store) writeProfileRows(w *writer, stage string, traits []Trait, now any, res *ImportResult) error {
	all, err := traitsOf(w)
	if err != nil {
		return err
	}
	inStage := map[string]bool{}
	for _, t := range traits {
		inStage[t.Name] = true
	}
	var stageSel, existSel, agg, same []string
	for _, c := range append(rowKinds(), "timezone") {
		agg = append(agg, fmt.Sprintf("arg_max(%[1]s, _rank) FILTER (WHERE %[1]s IS NOT NULL) AS %[1]s", c))
		same = append(same, fmt.Sprintf("f.%[1]s IS NOT DISTINCT FROM p.%[1]s", c))
	}
	for _, t := range all {
		q := quoteIdent(t.Name)
		if inStage[t.Name] {
			stageSel = append(stageSel, "s."+q)
		} else {
			stageSel = append(stageSel, fmt.Sprintf("NULL::%s AS %s", t.Type, q))
		}
		existSel = append(existSel, "p."+q)
		agg = append(agg, fmt.Sprintf("arg_max(%[1]s, _rank) FILTER (WHERE %[1]s IS NOT NULL) AS %[1]s", q))
		same = append(same, fmt.Sprintf("f.%[1]s IS NOT DISTINCT FROM p.%[1]s", q))
	}
	extra := func(sel []string) string {
		if len(sel) == 0 {
			return ""
		}
		return ", " + strings.Join(sel, ", ")
	}
	// A profile with one contribution (most of a first import) is its own
	// fold and is written straight from the stage: only profiles with
	// several (rows of the input, or an existing row) are ranked and
	// aggregated.
	existing := `FROM profiles p LEFT JOIN _merge g ON g.loser = p.id
WHERE p.id IN (SELECT profile_id FROM _map UNION SELECT loser FROM _merge)`
	if _, err := w.exec(`CREATE OR REPLACE TEMP TABLE _multi AS
SELECT _pid FROM (SELECT profile_id AS _pid FROM _map UNION ALL SELECT coalesce(g.survivor, p.id) ` + existing + `)
GROUP BY _pid HAVING count(*) > 1`); err != nil {
		return fmt.Errorf("fold profiles: %w", err)
	}
	w.temps = append(w.temps, "_multi")
	contrib := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE _contrib AS
SELECT m.profile_id AS _pid, s._ord AS _ord, 1 AS _src, s._row AS _sub,
       s.user_id, CASE WHEN m.keep_email THEN s.email END AS email, CASE WHEN m.keep_phone THEN s.phone END AS phone,
       s.timezone, NULL::BOOLEAN AS restricted, NULL::BOOLEAN AS objected, NULL::TIMESTAMP AS first_seen_at%[1]s
FROM %[2]s s JOIN _map m USING (_row)
WHERE m.profile_id IN (SELECT _pid FROM _multi)
UNION ALL
SELECT coalesce(g.survivor, p.id), p.updated_at, 0, p.id,
       p.user_id, p.email, p.phone, p.timezone, p.restricted, p.objected, p.first_seen_at%[3]s
%[4]s`, extra(stageSel), stage, extra(existSel), existing)
	if _, err := w.exec(contrib); err != nil {
		return fmt.Errorf("fold profiles: %w", err)
	}
	w.temps = append(w.temps, "_contrib")
	final := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE _final AS
WITH r AS (
  SELECT *, row_number() OVER (PARTITION BY _pid ORDER BY _ord ASC NULLS FIRST, _src, _sub) AS _rank FROM _contrib
)
SELECT _pid AS id, %s,
       coalesce(bool_or(restricted), false) AS restricted,
       coalesce(bool_or(objected), false) AS objected,
       coalesce(min(first_seen_at), ?::TIMESTAMP) AS first_seen_at,
       coalesce(max(_ord), ?::TIMESTAMP) AS updated_at
FROM r GROUP BY _pid`, strings.Join(agg, ",\n       "))
	if _, err := w.exec(final, now, now); err != nil {
		return fmt.Errorf("fold profiles: %w", err)
	}
	w.temps = append(w.temps, "_final")
	// A profile whose values did not change is left alone (its updated_at
	// too), so that importing the same input twice changes nothing and an
	// event batch does not rewrite the rows of everyone it mentions.
	if _, err := w.exec(fmt.Sprintf(`DELETE FROM _final f USING profiles p
WHERE p.id = f.id AND f.id NOT IN (SELECT survivor FROM _merge) AND %s`, strings.Join(same, " AND "))); err != nil {
		return err
	}
	var updated int
	if err := w.queryRow(`SELECT count(*) FROM _final f JOIN profiles p ON p.id = f.id`).Scan(&updated); err != nil {
		return err
	}
	res.ProfilesUpdated += updated
	if _, err := w.exec(`DELETE FROM profiles WHERE id IN (SELECT id FROM _final UNION SELECT loser FROM _merge)`); err != nil {
		return err
	}
	if _, err := w.exec(`INSERT INTO profiles BY NAME SELECT * FROM _final`); err != nil {
		return fmt.Errorf("write profiles: %w", err)
	}
	// A profile with one contribution has no row yet (a row would be a
	// second contribution): it is inserted straight from the stage.
	single := fmt.Sprintf(`INSERT INTO profiles BY NAME
SELECT m.profile_id AS id, s.user_id, CASE WHEN m.keep_email THEN s.email END AS email, CASE WHEN m.keep_phone THEN s.phone END AS phone,
       s.timezone%s,
       false AS restricted, false AS objected, ?::TIMESTAMP AS first_seen_at, coalesce(s._ord, ?::TIMESTAMP) AS updated_at
FROM %s s JOIN _map m USING (_row)
WHERE m.profile_id NOT IN (SELECT _pid FROM _multi)`, extra(stageSel), stage)
	if _, err := w.exec(single, now, now); err != nil {
		return fmt.Errorf("write profiles: %w", err)
	}
	return nil
}
