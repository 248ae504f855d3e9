package line

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// retryNamespace is the UUID namespace of Tact's LINE retry keys (a random
// UUID fixed once; changing it would break idempotency across versions).
var retryNamespace = [16]byte{0x6f, 0x2d, 0x41, 0x8a, 0x93, 0x5c, 0x4e, 0x07, 0xb1, 0x62, 0x0d, 0xe8, 0x7a, 0x34, 0xc9, 0x15} //nolint:gochecknoglobals // read-only after initialisation

// PushRetryKey is the X-Line-Retry-Key of a push: a name-based UUID
// (version 5, RFC 9562) of the message's idempotency key, so a retry of the
// same send, after a crash or in another process, carries the same key and
// LINE answers 409 instead of sending twice. An empty idempotency key gives
// "" (no retry key: such a send is not idempotent).
func PushRetryKey(idempotencyKey string) string {
	if idempotencyKey == "" {
		return ""
	}
	return uuid5(append([]byte("push\x00"), idempotencyKey...))
}

// MulticastRetryKey is the X-Line-Retry-Key of a multicast to the messages
// with these idempotency keys: a name-based UUID of the sorted set of keys
// (order does not matter; each key is length-prefixed, so no two sets
// collide).
//
// Consequence: the retry is only idempotent when it presents the same set.
// Send makes that hold for a resent batch: it groups by rendered content and
// cuts each group into chunks of MaxMulticast after sorting by idempotency
// key, and it computes the key before the gate drops anyone, so a resend of
// the same batch gives the same chunks and keys. A resend of a different
// set (a batch split differently, some messages already recorded as
// delivered and left out, content rendered differently) gets a new key and
// LINE sends it again to everyone in it. The outbox must therefore resend a
// crashed batch as it was, within 24 hours (LINE keeps a retry key for 24
// hours).
func MulticastRetryKey(idempotencyKeys []string) string {
	keys := slices.Clone(idempotencyKeys)
	slices.Sort(keys)
	name := []byte("multicast\x00")
	for _, k := range keys {
		name = binary.AppendUvarint(name, uint64(len(k)))
		name = append(name, k...)
	}
	return uuid5(name)
}

// uuid5 is RFC 9562's name-based UUID (SHA-1, version 5) in retryNamespace.
func uuid5(name []byte) string {
	h := sha1.New()
	h.Write(retryNamespace[:])
	h.Write(name)
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], u[10:16])
	return string(s[:])
}
