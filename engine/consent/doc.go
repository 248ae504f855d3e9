// Package consent decides whether a person may be contacted for a purpose on
// a channel. Evaluate is the only place that decision is made for one person;
// GrantSQL states the very same rule as SQL for set-based audiences, and a
// differential test in package engine keeps the two in agreement.
//
// The rule (docs/consent.md): among the ledger entries effective at the
// instant asked about whose purpose matches (the purpose, or "*" unless the
// purpose is transactional) and whose channel matches (the channel or "*"),
// drop every entry recorded before the latest matching withdrawal or denial
// (supersession), then take the latest by effective instant. Consent is
// granted only if that entry is a grant, has not expired, and its notice
// version has not been superseded by a version that requires re-consent.
// Ties at one instant go to a denial or withdrawal. No entry, an unknown
// purpose or channel: not granted.
//
// A withdrawal or denial with purpose "*" and channel "*" is a withdraw-all:
// it covers every non-transactional purpose on every channel, including
// channels the person has no address for.
package consent
