package server

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Amazon SNS message signatures
// (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html):
// the envelope's fields, in a fixed order, as "Name\nValue\n" pairs, signed
// with RSA (SHA1 for SignatureVersion 1, SHA256 for 2) by the certificate
// at SigningCertURL, which must be an https URL on sns.<region>.amazonaws.com.

type snsMessage struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	Token            string `json:"Token"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject"`
	Message          string `json:"Message"`
	SubscribeURL     string `json:"SubscribeURL"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
}

var snsCertHost = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// snsVerifier checks SNS signatures, caching certificates by URL.
type snsVerifier struct {
	// fetch returns the PEM at a certificate URL (tests replace it).
	fetch func(ctx context.Context, rawURL string) ([]byte, error)
	// checkURL validates a certificate URL (tests replace it).
	checkURL func(rawURL string) error
	mu       sync.Mutex
	certs    map[string]*x509.Certificate
}

func newSNSVerifier() *snsVerifier {
	return &snsVerifier{fetch: fetchCert, checkURL: checkSNSCertURL, certs: map[string]*x509.Certificate{}}
}

// setFetch replaces the certificate fetcher (tests).
func (v *snsVerifier) setFetch(f func(ctx context.Context, rawURL string) ([]byte, error)) {
	v.mu.Lock()
	v.fetch = f
	v.mu.Unlock()
}

func checkSNSCertURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || !snsCertHost.MatchString(u.Hostname()) || !strings.HasSuffix(u.Path, ".pem") || u.Port() != "" {
		return errors.New("SigningCertURL is not an SNS certificate URL")
	}
	return nil
}

func fetchCert(ctx context.Context, rawURL string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("certificate fetch: status %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<10))
}

func (v *snsVerifier) cert(ctx context.Context, rawURL string) (*x509.Certificate, error) {
	if err := v.checkURL(rawURL); err != nil {
		return nil, err
	}
	v.mu.Lock()
	c, ok := v.certs[rawURL]
	v.mu.Unlock()
	if ok {
		return c, nil
	}
	v.mu.Lock()
	fetch := v.fetch
	v.mu.Unlock()
	raw, err := fetch(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("certificate is not PEM")
	}
	c, err = x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if len(v.certs) > 64 {
		v.certs = map[string]*x509.Certificate{}
	}
	v.certs[rawURL] = c
	v.mu.Unlock()
	return c, nil
}

// snsStringToSign builds the canonical text of an SNS message.
func snsStringToSign(m *snsMessage) (string, error) {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	switch m.Type {
	case "Notification":
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		if m.Subject != "" {
			add("Subject", m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		add("SubscribeURL", m.SubscribeURL)
		add("Timestamp", m.Timestamp)
		add("Token", m.Token)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	default:
		return "", fmt.Errorf("unknown SNS message type %q", m.Type)
	}
	return b.String(), nil
}

// verify checks body's SNS signature and returns the message.
func (v *snsVerifier) verify(ctx context.Context, body []byte) (*snsMessage, error) {
	var m snsMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, errors.New("not an SNS message")
	}
	text, err := snsStringToSign(&m)
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || len(sig) == 0 {
		return nil, errors.New("missing or malformed Signature")
	}
	c, err := v.cert(ctx, m.SigningCertURL)
	if err != nil {
		return nil, err
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("certificate key is not RSA")
	}
	var h crypto.Hash
	var sum []byte
	switch m.SignatureVersion {
	case "1":
		s := sha1.Sum([]byte(text))
		h, sum = crypto.SHA1, s[:]
	case "2":
		s := sha256.Sum256([]byte(text))
		h, sum = crypto.SHA256, s[:]
	default:
		return nil, fmt.Errorf("unknown SignatureVersion %q", m.SignatureVersion)
	}
	if err := rsa.VerifyPKCS1v15(pub, h, sum, sig); err != nil {
		return nil, errors.New("signature does not verify")
	}
	return &m, nil
}
