package linktoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"
)

const (
	// DefaultTTL is the token lifetime when Config.TTL is zero.
	DefaultTTL = 90 * 24 * time.Hour
	// MinTTL is the shortest lifetime allowed: RFC 8058 unsubscribe links
	// must keep working long after the message was sent.
	MinTTL = 60 * 24 * time.Hour
	// MinKeyLen is the minimum key length in bytes.
	MinKeyLen = 32

	version  = 1
	macLen   = sha256.Size
	macLabel = "tact-link-v1"
	maxField = 64
)

// Errors returned by Verify. Test with errors.Is.
var (
	// ErrMalformed: not a token of this format (bad encoding, truncated,
	// unknown version, trailing bytes).
	ErrMalformed = errors.New("linktoken: malformed token")
	// ErrInvalidSignature: the MAC does not match or the key is unknown;
	// the token was forged or altered.
	ErrInvalidSignature = errors.New("linktoken: invalid signature")
	// ErrExpired: the token is past its expiry.
	ErrExpired = errors.New("linktoken: token expired")
	// ErrNotYetValid: issued more than the allowed clock skew in the future.
	ErrNotYetValid = errors.New("linktoken: token issued in the future")
)

// Claims is what a token asserts.
type Claims struct {
	ProfileID int64
	// Purpose is the consent purpose the link acts on ("marketing").
	Purpose string
	// Channel is the consent channel ("email", "sms", ...).
	Channel string
	// IssuedAt and ExpiresAt are whole seconds, UTC.
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Config configures a Signer.
type Config struct {
	// Keys are HMAC keys, each at least MinKeyLen bytes. Keys[0] signs new
	// tokens; all of them verify (rotation). Required.
	Keys [][]byte
	// TTL is the lifetime of issued tokens. Default DefaultTTL (90 days);
	// values below MinTTL (60 days) are refused.
	TTL time.Duration
	// ClockSkew tolerated for tokens issued "in the future". Default 5 minutes.
	ClockSkew time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Signer issues and verifies tokens. It is safe for concurrent use.
type Signer struct {
	keys  map[byte][]byte
	macs  map[byte]*sync.Pool // per key id: keyed HMAC states, reset and reused
	ids   []byte
	ttl   time.Duration
	skew  time.Duration
	now   func() time.Time
	label []byte
}

// New checks cfg and returns a Signer.
func New(cfg Config) (*Signer, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("linktoken: at least one key is required")
	}
	s := &Signer{keys: map[byte][]byte{}, macs: map[byte]*sync.Pool{}, ttl: cfg.TTL, skew: cfg.ClockSkew, now: cfg.Now, label: []byte(macLabel)}
	for i, k := range cfg.Keys {
		if len(k) < MinKeyLen {
			return nil, fmt.Errorf("linktoken: key %d is %d bytes, want at least %d", i, len(k), MinKeyLen)
		}
		id := KeyID(k)
		if _, dup := s.keys[id]; dup {
			return nil, fmt.Errorf("linktoken: key %d collides with an earlier key id; generate another key", i)
		}
		key := append([]byte(nil), k...)
		s.keys[id] = key
		s.macs[id] = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
		s.ids = append(s.ids, id)
	}
	if s.ttl == 0 {
		s.ttl = DefaultTTL
	}
	if s.ttl < MinTTL {
		return nil, fmt.Errorf("linktoken: ttl %s is below the minimum %s", s.ttl, MinTTL)
	}
	if s.skew == 0 {
		s.skew = 5 * time.Minute
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// KeyID is the one-byte key identifier embedded in tokens.
func KeyID(key []byte) byte {
	h := sha256.Sum256(key)
	return h[0]
}

// TTL is the lifetime of tokens this signer issues.
func (s *Signer) TTL() time.Duration { return s.ttl }

// Issue returns a token for (profileID, purpose, channel) valid from now for
// the configured TTL.
func (s *Signer) Issue(profileID int64, purpose, channel string) (string, error) {
	var buf [maxTokenLen]byte
	tok, err := s.appendIssue(buf[:0], profileID, purpose, channel)
	return string(tok), err
}

// appendIssue is Issue appending the token to dst.
func (s *Signer) appendIssue(dst []byte, profileID int64, purpose, channel string) ([]byte, error) {
	now := s.now().UTC().Truncate(time.Second)
	return s.appendClaims(dst, Claims{ProfileID: profileID, Purpose: purpose, Channel: channel, IssuedAt: now, ExpiresAt: now.Add(s.ttl)})
}

// IssueClaims signs c as given (zero IssuedAt = now, zero ExpiresAt =
// IssuedAt+TTL). Purpose and channel are limited to 64 bytes.
func (s *Signer) IssueClaims(c Claims) (string, error) {
	var buf [maxTokenLen]byte
	tok, err := s.appendClaims(buf[:0], c)
	return string(tok), err
}

// The longest token: version, key id, three varints, two 64-byte fields
// with their lengths, the MAC; and its base64url length.
const (
	maxRawLen   = 2 + 3*binary.MaxVarintLen64 + 2*(1+maxField) + macLen
	maxTokenLen = (maxRawLen*8 + 5) / 6
)

// appendClaims is IssueClaims appending the token to dst.
func (s *Signer) appendClaims(dst []byte, c Claims) ([]byte, error) {
	if c.IssuedAt.IsZero() {
		c.IssuedAt = s.now()
	}
	c.IssuedAt = c.IssuedAt.UTC().Truncate(time.Second)
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.IssuedAt.Add(s.ttl)
	}
	life := c.ExpiresAt.Unix() - c.IssuedAt.Unix()
	if life <= 0 {
		return dst, errors.New("linktoken: expiry must be after issue time")
	}
	if len(c.Purpose) > maxField || len(c.Channel) > maxField || c.Purpose == "" || c.Channel == "" {
		return dst, errors.New("linktoken: purpose and channel must be 1 to 64 bytes")
	}
	if c.ProfileID < 0 {
		return dst, errors.New("linktoken: negative profile id")
	}
	b := make([]byte, 0, maxRawLen)
	b = append(b, version, s.ids[0])
	b = binary.AppendUvarint(b, uint64(c.ProfileID))
	b = binary.AppendVarint(b, c.IssuedAt.Unix())
	b = binary.AppendUvarint(b, uint64(life))
	b = binary.AppendUvarint(b, uint64(len(c.Purpose)))
	b = append(b, c.Purpose...)
	b = binary.AppendUvarint(b, uint64(len(c.Channel)))
	b = append(b, c.Channel...)
	b = s.mac(s.ids[0], b, b)
	return base64.RawURLEncoding.AppendEncode(dst, b), nil
}

// mac appends to dst the HMAC-SHA256 under key id of the label and msg.
// The keyed state (the hashed inner and outer pads) is reused through the
// key's pool rather than derived again for every token.
func (s *Signer) mac(id byte, dst, msg []byte) []byte {
	pool := s.macs[id]
	m := pool.Get().(hash.Hash)
	m.Reset()
	m.Write(s.label)
	m.Write(msg)
	dst = m.Sum(dst)
	pool.Put(m)
	return dst
}

// Verify checks token and returns its claims. Errors: ErrMalformed,
// ErrInvalidSignature, ErrExpired, ErrNotYetValid. The signature is checked
// before anything else is trusted; claims are returned only with a nil error.
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > 512 {
		return Claims{}, ErrMalformed
	}
	// Only the canonical encoding verifies: the decoder would skip CR and
	// LF and accept non-zero padding bits, so one token would have many
	// spellings (each escaping the per-token rate limit).
	if !canonicalAlphabet(token) {
		return Claims{}, ErrMalformed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) < 2+macLen+5 {
		return Claims{}, ErrMalformed
	}
	if raw[0] != version {
		return Claims{}, ErrMalformed
	}
	body, sig := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if _, ok := s.keys[raw[1]]; !ok {
		return Claims{}, ErrInvalidSignature
	}
	var want [macLen]byte
	if !hmac.Equal(sig, s.mac(raw[1], want[:0], body)) {
		return Claims{}, ErrInvalidSignature
	}
	c, err := decode(body[2:])
	if err != nil {
		return Claims{}, err
	}
	now := s.now()
	if c.IssuedAt.After(now.Add(s.skew)) {
		return Claims{}, ErrNotYetValid
	}
	if !now.Before(c.ExpiresAt) {
		return Claims{}, ErrExpired
	}
	return c, nil
}

func decode(p []byte) (Claims, error) {
	var c Claims
	pid, n := binary.Uvarint(p)
	if n <= 0 || pid > 1<<63-1 {
		return c, ErrMalformed
	}
	p = p[n:]
	iat, n := binary.Varint(p)
	if n <= 0 {
		return c, ErrMalformed
	}
	p = p[n:]
	life, n := binary.Uvarint(p)
	if n <= 0 || life > 100*365*24*3600 {
		return c, ErrMalformed
	}
	p = p[n:]
	str := func() (string, bool) {
		l, n := binary.Uvarint(p)
		if n <= 0 || l == 0 || l > maxField || uint64(len(p)-n) < l {
			return "", false
		}
		s := string(p[n : n+int(l)])
		p = p[n+int(l):]
		return s, true
	}
	purpose, ok1 := str()
	channel, ok2 := str()
	if !ok1 || !ok2 || len(p) != 0 {
		return c, ErrMalformed
	}
	c.ProfileID = int64(pid)
	c.IssuedAt = time.Unix(iat, 0).UTC()
	c.ExpiresAt = c.IssuedAt.Add(time.Duration(life) * time.Second)
	c.Purpose, c.Channel = purpose, channel
	return c, nil
}

// canonicalAlphabet reports whether token holds base64url characters only.
func canonicalAlphabet(token string) bool {
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
