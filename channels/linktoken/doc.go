// Package linktoken issues and verifies the opaque signed tokens carried by
// unsubscribe (RFC 8058 List-Unsubscribe one-click) and preference-centre
// links.
//
// A token is base64url (no padding) of
//
//	version(1) keyID(1) uvarint(profileID) varint(issuedAt, unix s)
//	uvarint(lifetime s) uvarint(len) purpose uvarint(len) channel
//	HMAC-SHA256(key, "tact-link-v1" || all previous bytes)   (32 bytes)
//
// The key id is the first byte of SHA-256(key), so keys can be rotated:
// Config.Keys[0] signs, every key verifies. Verify refuses malformed,
// altered, forged (unknown key or bad MAC) and expired tokens with the
// typed errors below, and compares MACs in constant time. Tokens carry no
// address or name; the profile id is readable but cannot be changed.
//
// Links built for a person with a LocaleTrait also carry LangParam, the
// page language, beside the token and unsigned: it chooses only how the
// page reads, and the server ignores a value it has no texts for.
package linktoken
