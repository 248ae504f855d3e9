// Package segments is Tact's expression language (docs/expressions.md): one typed
// front end, a compiler to DuckDB SQL for bulk evaluation, the expr VM for
// one profile in real time, consent-filtered audiences (docs/consent.md), and
// saved segments with materialised membership and entered/exited diffs.
//
// # One front end
//
// Compile type-checks an expression once with checker.ParseCheck over the
// environment below (trait types from the store's catalog) and returns an
// immutable, goroutine-safe *Segment holding both the SQL plan (built from
// the checked, unoptimised AST) and the *vm.Program. Only a fixed set of
// expr builtins is enabled; `$env`, identifiers starting with `_` and
// anything outside the environment are refused. Errors are *Error with a
// 1-based line:column and, for unknown names, the closest known names.
//
// Environment: every trait by name, user_id, email, phone, timezone (nil
// when missing); events (each {event, timestamp, properties}, oldest
// first); now(), ago("30d") (engine/duration's syntax, the one journeys
// and retention use: units s m h d w, combinable: "1w2d"),
// days_since(t) (whole days, truncated toward zero), consented(purpose,
// channel) (consent.Evaluate at now()), in_segment("name") (the saved
// segment's materialised membership), bucket(n) (Fibonacci hash of the
// profile id, mod n). now() is the store clock's instant (--now/TACT_NOW),
// never the wall clock read directly.
//
// # Journey conditions
//
// Journeys evaluate their conditions (entry segment and audience, event
// filter, branch, exit, goal, condition wait) with this package, from the
// same checked AST: Compile with ForJourney adds `payload` (the instance's
// entry payload, a JSON object; `payload.order_id`, `payload["x"]` and
// deeper reads are nil-safe like traits) and `entered_at`; ForEventEntry
// also adds the triggering event (`event`, `timestamp`, `properties`).
// Outside them these names are unknown, with an error saying so. Their
// conjuncts run on the VM per journey instance (Segment.MatchSubjects),
// the others select candidates in SQL among the subjects' profiles; the
// meaning of everything else is unchanged. AllowUnknownTraits reads a name
// the schema lacks as a trait nobody has yet (journey conditions, which
// run later than they are published).
//
// # Bounds
//
// Limits bounds an expression's source (MaxSourceLen, 4 KiB) and size
// (MaxNodes AST nodes, 500): beyond them Compile fails with an *Error that
// is errors.Is ErrTooLarge. Ranges (`1..1000000`), whose cost does not
// depend on the data, are refused (ErrUnbounded). Limits.Timeout bounds
// each evaluation: the SQL path's DuckDB query is interrupted through its
// context and the VM stops between profiles and subjects, with a
// *TimeLimitError (errors.Is ErrTimeLimit and context.DeadlineExceeded);
// a caller's own deadline gives the same error. DefaultTimeout is the limit
// suggested for requests from the network.
//
// # Two-valued semantics on both paths
//
// A comparison with a missing value is false, so `not (country == "TH")`
// includes profiles without a country. In SQL every comparison that may
// see NULL is made two-valued (COALESCE(cmp, FALSE), IS [NOT] DISTINCT
// FROM) except where it sits only under AND/OR in a WHERE or FILTER, where
// NULL already acts as false. On the VM the program is patched (expr.Patch)
// so operators go through nil-safe helpers. The traps it avoids:
//
//   - nil: `==`/`!=` treat nil as a value (nil == nil); ordering, string
//     operators, `in` and arithmetic with nil are false / nil.
//   - int(): truncates toward zero on both sides (trunc, not CAST).
//   - float literals are bound as DOUBLE, never DECIMAL: 0.1+0.2 != 0.3.
//   - LIKE is never used: contains/startsWith/endsWith map to contains,
//     starts_with, ends_with; matches to regexp_matches (both RE2).
//   - x % 0 and x / 0 are nil (NULL) on both sides; `/` is float division.
//   - int64 overflow in + - * and unary minus is nil on both sides (SQL
//     computes in HUGEINT and TRY_CASTs back).
//   - len of a string counts characters (length, not strlen); trim removes
//     space, tab, CR and LF (the explicit set DuckDB's trim is given).
//   - sum/max/min/mean over events read numbers only (other values,
//     strings included, are skipped; max/min also take timestamps); sum of
//     nothing is 0, max/min/mean of nothing are nil.
//   - a runtime error on the VM (e.g. a VM-only builtin on a bad value)
//     makes that profile a non-member.
//
// # The SQL subset, and what runs on the VM
//
// Compiled to SQL: literals; traits and system fields; == != < <= > >=;
// and or not; in / not in over literal lists and list traits; contains,
// startsWith, endsWith, matches (literal pattern); + - * / % and unary
// minus; ??; ternaries; lower, upper, trim, len, abs, ceil, floor, round,
// int, float on numbers/strings; count/any/all/none/one/len over events or
// filter(events, …), sum(events, …), max/min/mean(map(events, …)), with
// predicates on .event, .timestamp and .properties.<key> (typed by the
// compared value through json_type, so "12" is not 12); now, ago(literal),
// days_since, consented(literal, literal), in_segment(literal),
// bucket(literal).
//
// Everything else is VM-only: ** and ^, string(), first/last/split/join and
// the other list builtins, member access outside predicates, predicates
// that read profile fields (`any(events, .properties.amount > age)`),
// nested aggregates, comparisons of two event properties, non-literal
// arguments to ago/consented/bucket, let/sequence expressions. An
// expression with such parts is not an error: its top-level conjuncts that
// compile select candidates in one query (PathHybrid; PathVM when none
// does) and the VM evaluates the whole expression over those candidates.
// Segment.Path and Segment.Reasons say which and why (`tact segment
// check`).
//
// # Audiences
//
// Audience = segment ∧ consent ∧ reachable ∧ not suppressed ∧ not
// restricted ∧ (transactional ∨ not objected), one set-based query over
// the consent current-state relation (engine.ConsentGrantSQL) and the
// suppression list; Audience.Check applies the same rule to one person in
// Go. Removals are attributed in the fixed order restricted, objected,
// no_consent, unreachable, suppressed, so each removed person is counted
// once and the counts add up. Members leave as Arrow record batches
// (DuckDB's Arrow interface) and are written as CSV, JSONL, Parquet or
// Arrow IPC (WriteMembers).
//
// # Saved segments
//
// Save stores a definition and computes its membership; Refresh recomputes
// it in bulk and records who entered and who exited (segment_changes) under
// a new computation number; Recheck re-evaluates one profile on the VM and
// updates its membership (journeys call it when a profile's events, traits
// or consent change). in_segment reads the materialised membership.
package segments
