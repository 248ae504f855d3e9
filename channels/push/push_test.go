package push

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testTemplates(t *testing.T) *templates.Set {
	t.Helper()
	s, err := templates.Load(filepath.Join("..", "..", "testdata", "templates"))
	require.NoError(t, err)
	return s
}

func cartMessage(to string) channels.Message {
	return channels.Message{
		IdempotencyKey: channels.NewIdempotencyKey("cart", 1, "push", 3, t0), ProfileID: 3, Journey: "cart", Step: "push",
		Purpose: "marketing", To: to, Template: "cart_reminder",
		Traits:  map[string]any{"first_name": "ปิติ"},
		Payload: map[string]any{"cart_url": "https://coffee.example.com/cart/3", "item_count": 2},
	}
}

// --- Web Push: a push service on loopback that checks VAPID and decrypts ---

type userAgent struct {
	priv *ecdh.PrivateKey
	auth []byte
}

func newUserAgent(t *testing.T) *userAgent {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	return &userAgent{priv: k, auth: auth}
}

func (ua *userAgent) subscription(endpoint string) string {
	b, _ := json.Marshal(map[string]any{"endpoint": endpoint, "keys": map[string]string{
		"p256dh": base64.RawURLEncoding.EncodeToString(ua.priv.PublicKey().Bytes()),
		"auth":   base64.RawURLEncoding.EncodeToString(ua.auth),
	}})
	return string(b)
}

// decrypt implements the user agent side of RFC 8291 (aes128gcm, RFC 8188).
func (ua *userAgent) decrypt(body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("short body")
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	idlen := int(body[20])
	if len(body) < 21+idlen || rs < 18 {
		return nil, errors.New("bad header")
	}
	asPubBytes := body[21 : 21+idlen]
	ct := body[21+idlen:]
	if uint32(len(ct)) > rs {
		return nil, errors.New("more than one record")
	}
	asPub, err := ecdh.P256().NewPublicKey(asPubBytes)
	if err != nil {
		return nil, err
	}
	secret, err := ua.priv.ECDH(asPub)
	if err != nil {
		return nil, err
	}
	keyInfo := append(append([]byte("WebPush: info\x00"), ua.priv.PublicKey().Bytes()...), asPubBytes...)
	ikm, err := hkdf.Key(sha256.New, secret, ua.auth, string(keyInfo), 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	blk, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, err
	}
	pt, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, err
	}
	// Last record: data || 0x02 || zero padding.
	i := len(pt) - 1
	for i >= 0 && pt[i] == 0 {
		i--
	}
	if i < 0 || pt[i] != 2 {
		return nil, errors.New("bad padding delimiter")
	}
	return pt[:i], nil
}

func b64(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		panic(err)
	}
	return b
}

// checkVAPID verifies "vapid t=<JWT>, k=<key>" per RFC 8292 and returns the claims.
func checkVAPID(header, wantKey, origin string) (map[string]any, error) {
	rest, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		return nil, errors.New("not a vapid authorization")
	}
	var tok, key string
	for _, p := range strings.Split(rest, ",") {
		p = strings.TrimSpace(p)
		if v, ok := strings.CutPrefix(p, "t="); ok {
			tok = v
		} else if v, ok := strings.CutPrefix(p, "k="); ok {
			key = v
		}
	}
	if key != wantKey {
		return nil, errors.New("unexpected k")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("bad jwt")
	}
	var hdr map[string]any
	if err := json.Unmarshal(b64(parts[0]), &hdr); err != nil || hdr["alg"] != "ES256" {
		return nil, fmt.Errorf("bad jwt header %v", hdr)
	}
	pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b64(key))
	if err != nil {
		return nil, err
	}
	sig := b64(parts[2])
	if len(sig) != 64 {
		return nil, errors.New("bad signature length")
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pk, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, errors.New("jwt signature invalid")
	}
	var claims map[string]any
	if err := json.Unmarshal(b64(parts[1]), &claims); err != nil {
		return nil, err
	}
	if claims["aud"] != origin {
		return nil, fmt.Errorf("aud %v, want %s", claims["aud"], origin)
	}
	exp := time.Unix(int64(claims["exp"].(float64)), 0)
	if time.Until(exp) <= 0 || time.Until(exp) > 24*time.Hour {
		return nil, errors.New("exp must be within 24h")
	}
	return claims, nil
}

type pushService struct {
	mu       sync.Mutex
	ua       *userAgent
	vapidPub string
	origin   string
	payloads []Notification
	headers  []http.Header
	errs     []error
}

func (p *pushService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.URL.Path {
	case "/push/gone":
		http.Error(w, "push subscription has unsubscribed or expired.", http.StatusGone)
		return
	case "/push/busy":
		w.Header().Set("Retry-After", "30")
		http.Error(w, "too many", http.StatusTooManyRequests)
		return
	}
	fail := func(err error) {
		p.errs = append(p.errs, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
	if _, err := checkVAPID(r.Header.Get("Authorization"), p.vapidPub, p.origin); err != nil {
		fail(err)
		return
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" || r.Header.Get("TTL") == "" {
		fail(errors.New("missing Content-Encoding/TTL"))
		return
	}
	body, _ := io.ReadAll(r.Body)
	pt, err := p.ua.decrypt(body)
	if err != nil {
		fail(err)
		return
	}
	var n Notification
	if err := json.Unmarshal(pt, &n); err != nil {
		fail(err)
		return
	}
	p.payloads = append(p.payloads, n)
	p.headers = append(p.headers, r.Header.Clone())
	w.Header().Set("Location", "https://push.example.net/m/"+fmt.Sprint(len(p.payloads)))
	w.WriteHeader(http.StatusCreated)
}

func TestWebPushDecrypts(t *testing.T) {
	t.Parallel()
	priv, pub, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	ua := newUserAgent(t)
	ps := &pushService{ua: ua, vapidPub: pub}
	srv := httptest.NewServer(ps)
	defer srv.Close()
	ps.origin = srv.URL

	var gated atomic.Int32
	wp, err := NewWebPush(WebPushConfig{
		VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subscriber: "mailto:ops@coffee.example.com",
		Templates: testTemplates(t), HTTPClient: srv.Client(), Now: func() time.Time { return t0 },
		Gate: channels.GateFunc(func(context.Context, string, channels.Message) (string, error) { gated.Add(1); return "", nil }),
	})
	require.NoError(t, err)
	router := &Router{WebPush: wp}

	good := cartMessage(ua.subscription(srv.URL + "/push/abc"))
	gone := cartMessage(ua.subscription(srv.URL + "/push/gone"))
	busy := cartMessage(ua.subscription(srv.URL + "/push/busy"))
	fcmTarget := cartMessage("fcm-token-without-fcm-configured")
	res := router.Send(context.Background(), []channels.Message{good, gone, busy, fcmTarget, cartMessage(`{"endpoint":"ftp://x"}`)})
	require.Empty(t, ps.errs)
	require.Equal(t, channels.StatusDelivered, res[0].Status, "%v", res[0].Err)
	require.Equal(t, "https://push.example.net/m/1", res[0].ProviderMessageID)
	require.Equal(t, channels.StatusPermanent, res[1].Status)
	require.True(t, res[1].TokenInvalid)
	require.Equal(t, channels.StatusTransient, res[2].Status)
	require.Equal(t, 30*time.Second, res[2].RetryAfter)
	require.Equal(t, channels.StatusPermanent, res[3].Status)
	require.Equal(t, "not_configured", res[3].Reason)
	require.Equal(t, channels.StatusPermanent, res[4].Status)
	require.ErrorIs(t, res[4].Err, channels.ErrInvalidAddress)
	require.EqualValues(t, 3, gated.Load())

	require.Len(t, ps.payloads, 1)
	require.Equal(t, Notification{
		Title: "ปิติ, your cart is waiting ☕", Body: "คุณมีสินค้า 2 รายการในตะกร้า — สั่งเลยก่อนหมด!",
		URL: "https://coffee.example.com/cart/3", Icon: "https://coffee.example.com/icon-192.png",
		Tag: good.IdempotencyKey, Data: map[string]string{"journey": "cart", "step": "push"},
	}, ps.payloads[0])
	require.Equal(t, "86400", ps.headers[0].Get("TTL"))
	require.Equal(t, "normal", ps.headers[0].Get("Urgency"))

	// The dropped token is the subscription's endpoint.
	fbs := channels.ResultFeedback(channels.Push, gone, res[1], t0)
	require.Len(t, fbs, 1)
	require.Equal(t, channels.FeedbackTokenInvalid, fbs[0].Kind)
	require.Equal(t, srv.URL+"/push/gone", fbs[0].Address)
}

// --- FCM: fake OAuth2 token endpoint and FCM v1 API on loopback ---

type fakeGoogle struct {
	t           *testing.T
	key         *rsa.PrivateKey
	email       string
	tokenURL    string
	tokenCalls  atomic.Int32
	mu          sync.Mutex
	sent        []fcmRequest
	tokenErrors []error
}

func (g *fakeGoogle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/token":
		g.tokenCalls.Add(1)
		if err := g.checkAssertion(r); err != nil {
			g.mu.Lock()
			g.tokenErrors = append(g.tokenErrors, err)
			g.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"ya29.test-token","expires_in":3599,"token_type":"Bearer"}`)
	case r.URL.Path == "/v1/projects/tact-test/messages:send":
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		if r.Header.Get("Authorization") != "Bearer ya29.test-token" {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`)
			return
		}
		var req fcmRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(400)
			return
		}
		g.mu.Lock()
		g.sent = append(g.sent, req)
		g.mu.Unlock()
		fcmErr := func(status int, st, code, msg string) {
			w.WriteHeader(status)
			_, _ = fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":%q,"details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":%q}]}}`, status, msg, st, code)
		}
		switch req.Message.Token {
		case "dead-token":
			fcmErr(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.")
		case "bad-token":
			fcmErr(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token")
		case "busy-token":
			w.Header().Set("Retry-After", "60")
			fcmErr(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for quota metric 'Send messages'.")
		case "down-token":
			fcmErr(503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable.")
		default:
			_, _ = io.WriteString(w, `{"name":"projects/tact-test/messages/0:1500415314455276%31bd1c9631bd1c96"}`)
		}
	default:
		http.NotFound(w, r)
	}
}

// checkAssertion verifies the RFC 7523 JWT bearer assertion.
func (g *fakeGoogle) checkAssertion(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		return errors.New("bad grant_type")
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		return errors.New("bad assertion")
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&g.key.PublicKey, crypto.SHA256, h[:], b64(parts[2])); err != nil {
		return err
	}
	var hdr struct{ Alg, Kid string }
	_ = json.Unmarshal(b64(parts[0]), &hdr)
	if hdr.Alg != "RS256" || hdr.Kid != "kid-1" {
		return fmt.Errorf("bad header %+v", hdr)
	}
	var c struct {
		Iss, Scope, Aud string
		Exp, Iat        int64
	}
	_ = json.Unmarshal(b64(parts[1]), &c)
	if c.Iss != g.email || c.Scope != FCMScope || c.Aud != g.tokenURL || c.Exp <= c.Iat {
		return fmt.Errorf("bad claims %+v", c)
	}
	return nil
}

func serviceAccount(t *testing.T, key *rsa.PrivateKey, email, tokenURI string) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "tact-test", "private_key_id": "kid-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": "1234567890", "token_uri": tokenURI,
		"auth_uri": "https://accounts.google.com/o/oauth2/auth",
	})
	return b
}

func TestFCM(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	g := &fakeGoogle{t: t, key: key, email: "tact@tact-test.iam.gserviceaccount.com"}
	srv := httptest.NewServer(g)
	defer srv.Close()
	g.tokenURL = srv.URL + "/token"

	f, err := NewFCM(FCMConfig{
		// The credentials point at Google; the config redirects to loopback.
		CredentialsJSON: serviceAccount(t, key, g.email, "https://oauth2.googleapis.com/token"),
		TokenURL:        g.tokenURL, Endpoint: srv.URL,
		Templates: testTemplates(t), HTTPClient: srv.Client(), Now: func() time.Time { return t0 },
	})
	require.NoError(t, err)
	router := &Router{FCM: f}
	tests := []struct {
		token   string
		status  channels.Status
		reason  string
		invalid bool
	}{
		{"good-token", channels.StatusDelivered, "", false},
		{"dead-token", channels.StatusPermanent, "fcm:UNREGISTERED", true},
		{"bad-token", channels.StatusPermanent, "fcm:INVALID_ARGUMENT", true},
		{"busy-token", channels.StatusTransient, "fcm:QUOTA_EXCEEDED", false},
		{"down-token", channels.StatusTransient, "fcm:UNAVAILABLE", false},
	}
	batch := make([]channels.Message, len(tests))
	for i, tc := range tests {
		batch[i] = cartMessage(tc.token)
	}
	res := router.Send(context.Background(), batch)
	require.Empty(t, g.tokenErrors)
	for i, tc := range tests {
		require.Equal(t, tc.status, res[i].Status, "%s: %v", tc.token, res[i].Err)
		require.Equal(t, tc.reason, res[i].Reason, tc.token)
		require.Equal(t, tc.invalid, res[i].TokenInvalid, tc.token)
	}
	require.Equal(t, "projects/tact-test/messages/0:1500415314455276%31bd1c9631bd1c96", res[0].ProviderMessageID)
	require.Equal(t, 60*time.Second, res[3].RetryAfter)
	require.EqualValues(t, 1, g.tokenCalls.Load(), "the access token is reused")

	var sent fcmRequest
	for _, s := range g.sent {
		if s.Message.Token == "good-token" {
			sent = s
		}
	}
	require.Equal(t, "ปิติ, your cart is waiting ☕", sent.Message.Notification.Title)
	require.Equal(t, "คุณมีสินค้า 2 รายการในตะกร้า — สั่งเลยก่อนหมด!", sent.Message.Notification.Body)
	require.Equal(t, "https://coffee.example.com/cart/3", sent.Message.Data["url"])
	require.Equal(t, batch[0].IdempotencyKey, sent.Message.Data["idempotency_key"])
	require.Equal(t, "86400s", sent.Message.Android.TTL)

	// A wrong key is refused by the token endpoint: transient, nothing sent.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	bad, err := NewFCM(FCMConfig{
		CredentialsJSON: serviceAccount(t, other, g.email, g.tokenURL), Endpoint: srv.URL,
		Templates: testTemplates(t), HTTPClient: srv.Client(),
	})
	require.NoError(t, err)
	r := bad.Send(context.Background(), []channels.Message{cartMessage("good-token")})[0]
	require.Equal(t, channels.StatusTransient, r.Status)
	require.Equal(t, "fcm:auth", r.Reason)

	_, err = NewFCM(FCMConfig{CredentialsJSON: []byte(`{"type":"authorized_user"}`), Templates: testTemplates(t)})
	require.Error(t, err)
}
