package linktoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSignatureIsHMACOfLabelAndBody: a token's last 32 bytes are
// HMAC-SHA256(key, label || body) computed from scratch, for every key of
// a rotation and for tokens issued one after another and concurrently
// (the keyed state is reused between tokens, never shared while in use),
// and every such token verifies under every signer holding its key.
func TestSignatureIsHMACOfLabelAndBody(t *testing.T) {
	t.Parallel()
	for _, keys := range [][][]byte{{key1}, {key2, key1}} {
		s := signerAt(t, t0, keys...)
		verifier := signerAt(t, t0, key1, key2)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					tok, err := s.Issue(int64(g*1000+i), "marketing", fmt.Sprint("ch", i%3))
					if err != nil {
						errs <- err
						return
					}
					raw, err := base64.RawURLEncoding.DecodeString(tok)
					if err != nil {
						errs <- err
						return
					}
					body, sig := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
					m := hmac.New(sha256.New, keys[0])
					m.Write([]byte(macLabel))
					m.Write(body)
					if !hmac.Equal(sig, m.Sum(nil)) {
						errs <- fmt.Errorf("token %d/%d: signature is not the HMAC of its body", g, i)
						return
					}
					for _, v := range []*Signer{s, verifier} {
						if _, err := v.Verify(tok); err != nil {
							errs <- fmt.Errorf("token %d/%d: %w", g, i, err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}
}
