// Package logging is the one place Tact's logs go through. Its slog.Handler
// never prints an email address, a phone number or a trait value:
//
//   - attributes whose key names personal data (email, phone, user_id,
//     anonymous_id, device_token, line_user_id, address, identifier, value, trait(s),
//     properties, old/new values, …; see SensitiveKeys) are replaced by
//     "[redacted]", at any depth of groups;
//   - every other string — the message, string attributes, errors,
//     fmt-formatted values of any other kind — is scanned, and email
//     addresses become "[email]" and phone-like digit runs (7 or more
//     digits, with optional +, spaces, dots, dashes or parentheses) become
//     "[phone]".
//
// Numbers, booleans, times and durations under keys that are not sensitive
// pass unchanged: counts, ids and durations are what operational logs are
// for. Code that logs must still log counts, kinds and ids, never values;
// the handler is the net under that rule, not a licence to break it.
package logging
