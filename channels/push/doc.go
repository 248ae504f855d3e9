// Package push delivers push notifications over Web Push (RFC 8030 with
// RFC 8291 aes128gcm payload encryption and RFC 8292 VAPID, through
// github.com/SherClockHolmes/webpush-go) and Firebase Cloud Messaging HTTP
// v1 (OAuth2 service-account tokens via golang.org/x/oauth2/google).
//
// Message.To is the push target as stored on the profile's device_token
// identity: a Web Push subscription as JSON
// ({"endpoint": "...", "keys": {"p256dh": "...", "auth": "..."}}) or an FCM
// registration token. Router sends each message to the right adapter.
//
// Notification content comes from a push template (title, body, url, icon).
// The Web Push payload, which the site's service worker receives, is JSON:
//
//	{"title": "...", "body": "...", "url": "...", "icon": "...",
//	 "tag": "<idempotency key>", "data": {"journey": "...", "step": "..."}}
//
// Tokens the provider reports gone (HTTP 404/410, FCM UNREGISTERED or
// SENDER_ID_MISMATCH, an invalid registration token) produce a permanent
// result with TokenInvalid set; channels.ApplyResults then drops the token.
package push
