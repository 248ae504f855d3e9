// Package sms sends SMS through a Twilio-compatible HTTP API and handles the
// compliance side of SMS:
//
//   - Twilio: POST {BaseURL}/2010-04-01/Accounts/{AccountSid}/Messages.json,
//     form-encoded To, From (or MessagingServiceSid), Body and
//     StatusCallback, HTTP basic auth (AccountSid or API key SID : token);
//     Twilio's JSON error bodies ({"code", "message", "more_info",
//     "status"}) are mapped to transient/permanent results;
//   - segment counting: GSM-7 (160 septets, 153 per part when concatenated;
//     ^ { } \ [ ~ ] | € count two) versus UCS-2 (70 code units, 67 per part;
//     Thai and emoji force UCS-2);
//   - inbound keywords (STOP family ⇒ withdrawal of every marketing purpose
//     on sms, START family ⇒ opt back in, HELP/INFO ⇒ help text) as a
//     function the server calls, replying in TwiML;
//   - X-Twilio-Signature validation for inbound and status webhooks;
//   - status callbacks turned into channels.Feedback.
//
// Quiet hours are applied by the journeys send policy (see
// channels.QuietHours); this package sends when asked.
package sms
