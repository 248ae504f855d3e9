// Package eligibility decides whether a person may receive a message for a
// purpose on a channel at an instant, and why not. Decide is the only place
// that decision is made for one person; SQL states its person-level terms
// for sets of people, and a combination test in package engine keeps the
// two, and the send-time gate, returning the same decision and reason.
//
// The reasons, in the order they are decided (docs/consent.md):
//
//	restricted     processing restricted: nothing, transactional included
//	objected       objected to marketing and profiling (any purpose but transactional)
//	no_consent     consent.Evaluate is not granted (withdrawn and expired are told apart)
//	withdrawn
//	expired
//	unreachable    no address on the channel
//	suppressed     the address is suppressed (hard bounce, complaint, SMS STOP, erasure)
//	quiet_hours    held: inside the channel's quiet hours in the person's zone
//	frequency_cap  the channel's daily cap is reached in the person's local day
//	holdout        in the global holdout (bucket.Of(id, 100) < percent)
//
// Transactional messages skip consent, objection, quiet hours, caps and the
// holdout; never restriction, reachability or suppression. The first five
// terms are the person's (SQL decides them in bulk; Person decides them for
// one); the last three are the send policy, applied by Decide to the facts
// the sender already holds (time-zone maths stays in Go: the engine has no
// ICU). Callers never reorder or skip a term: they gather facts and call.
package eligibility
