package email

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIMConfig configures DKIM signing.
type DKIMConfig struct {
	// Domain is the signing domain (d=). Required.
	Domain string
	// Selector is the DNS selector (s=). Required.
	Selector string
	// Signer is an *rsa.PrivateKey (2048 bits or more) or
	// ed25519.PrivateKey. Required; see ParseDKIMKey.
	Signer crypto.Signer
}

// SignedHeaders are the header fields covered by the signature. Fields that
// are absent are still listed, which stops them being added later
// (e.g. a List-Unsubscribe injected into a transactional message).
var SignedHeaders = []string{ //nolint:gochecknoglobals // read-only after initialisation
	"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
	"Reply-To", "List-Unsubscribe", "List-Unsubscribe-Post",
}

func (d *DKIMConfig) check() error {
	if d.Domain == "" || d.Selector == "" || d.Signer == nil {
		return errors.New("email: DKIM needs domain, selector and key")
	}
	switch k := d.Signer.Public().(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 1024 {
			return errors.New("email: DKIM RSA key must be at least 1024 bits (2048 recommended)")
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("email: unsupported DKIM key type %T", k)
	}
	return nil
}

// sign returns the DKIM-Signature field followed by raw. The signer reads
// the message once (headers parsed, body canonicalised and hashed in the
// same pass); unlike dkim.Sign it keeps no second copy of the message.
func (d *DKIMConfig) sign(raw []byte) ([]byte, error) {
	s, err := dkim.NewSigner(&dkim.SignOptions{
		Domain:                 d.Domain,
		Selector:               d.Selector,
		Signer:                 d.Signer,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             SignedHeaders,
	})
	if err != nil {
		return nil, fmt.Errorf("email: dkim: %w", err)
	}
	if _, err := s.Write(raw); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("email: dkim: %w", err)
	}
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("email: dkim: %w", err)
	}
	sig := s.Signature()
	out := make([]byte, 0, len(sig)+len(raw))
	return append(append(out, sig...), raw...), nil
}

// ParseDKIMKey parses a PEM private key (PKCS#1 RSA, PKCS#8 RSA or Ed25519).
func ParseDKIMKey(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("email: dkim key: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("email: dkim key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("email: dkim key: not a signing key")
	}
	return s, nil
}
