package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names.
const (
	SignatureHeader      = "X-Tact-Signature"
	TimestampHeader      = "X-Tact-Timestamp"
	IdempotencyKeyHeader = "Idempotency-Key"
)

// DefaultTolerance is the accepted clock difference for Verify.
const DefaultTolerance = 5 * time.Minute

// Verification errors. Test with errors.Is.
var (
	ErrMissingSignature = errors.New("webhook: missing signature or timestamp")
	ErrInvalidSignature = errors.New("webhook: signature mismatch")
	ErrTimestamp        = errors.New("webhook: timestamp outside the tolerance window")
)

// Sign returns the X-Tact-Signature value for body at timestamp ts (unix
// seconds), one "v1=" entry per secret.
func Sign(secrets [][]byte, ts int64, body []byte) string {
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		parts = append(parts, "v1="+hex.EncodeToString(mac(s, ts, body)))
	}
	return strings.Join(parts, ",")
}

func mac(secret []byte, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a received request: timestamp within tolerance of now
// (0 = DefaultTolerance) and a v1 signature matching one of secrets.
func Verify(secrets [][]byte, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	if signature == "" || timestamp == "" {
		return ErrMissingSignature
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp", ErrMissingSignature)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	d := now.Sub(time.Unix(ts, 0))
	if d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	for _, entry := range strings.Split(signature, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(entry), "v1=")
		if !ok {
			continue
		}
		got, err := hex.DecodeString(v)
		if err != nil {
			continue
		}
		for _, s := range secrets {
			if hmac.Equal(got, mac(s, ts, body)) {
				return nil
			}
		}
	}
	return ErrInvalidSignature
}

// VerifyRequest reads r's body (at most maxBytes, 0 = 1 MiB) and verifies
// it. It returns the body for the handler to decode.
func VerifyRequest(r *http.Request, secrets [][]byte, now time.Time, tolerance time.Duration, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = 1 << 20
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > maxBytes {
		return nil, errors.New("webhook: body too large")
	}
	if err := Verify(secrets, r.Header.Get(SignatureHeader), r.Header.Get(TimestampHeader), body, now, tolerance); err != nil {
		return nil, err
	}
	return body, nil
}
