// Package channels owns everything between a journey step that decided to
// contact a person and the provider that carries the message: the Channel
// interface and its Message/Result types, the adapters (email over SMTP or
// into .eml files, SMS over a Twilio-compatible HTTP API, Web Push and FCM
// HTTP v1, signed webhooks), templates, compliance headers (RFC 8058 one-click
// unsubscribe, signed link tokens, SMS STOP handling) and the translation of
// provider delivery feedback into Tact events, suppressions and consent
// changes.
//
// Layout:
//
//	channels            shared types: Channel, Message, Result, Feedback, Config,
//	                    the interfaces the engine implements (FeedbackSink,
//	                    ConsentRecorder, Gate), Apply, rate limiting, quiet hours
//	channels/linktoken  HMAC-SHA256 signed opaque tokens for unsubscribe and
//	                    preference-centre links
//	channels/templates  template loading, validation and rendering
//	channels/email      MIME building, SMTP (pooled) and file adapters, DKIM,
//	                    SES/DSN feedback parsers
//	channels/sms        Twilio-compatible adapter, GSM-7/UCS-2 segment counting,
//	                    inbound keyword handling, request signatures, status
//	                    callbacks
//	channels/push       Web Push (VAPID, RFC 8291 aes128gcm) and FCM HTTP v1
//	channels/webhook    signed JSON webhooks with retries; Verify for receivers
//	channels/setup      builds the configured Channel set from Config
//
// The package never imports the engine, segments or journeys. Where a channel
// must act on the store (record a withdrawal, add a suppression, record an
// engagement event, drop a device token) it calls one of the small interfaces
// declared here, which the engine satisfies. Addresses passed across those
// interfaces are always normalised: emails trimmed and lower-cased, phone
// numbers in E.164, device tokens verbatim.
//
// Consent is not decided here. The journeys runner gates every send; adapters
// additionally call an optional Gate immediately before each provider call so
// that a withdrawal committed a moment before the call still prevents it.
//
// Nothing in this package or its subpackages logs personal data (addresses,
// names, message bodies); errors name the message by its idempotency key.
package channels
