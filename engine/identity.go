package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// Identity kinds, in the order a record's identifiers are resolved: the
// user_id first, because a profile never holds two different user_ids.
const (
	KindUserID      = "user_id"
	KindEmail       = "email"
	KindPhone       = "phone"
	KindAnonymousID = "anonymous_id"
	KindDeviceToken = "device_token"
	// KindLINEUserID is a LINE user id ("U" and 32 lower-case hex digits,
	// line.ValidUserID's rule). A LINE user id is only meaningful within
	// one LINE provider; a deployment talks to exactly one provider
	// (channels.line.provider_id), so the stored value is the bare user id
	// and the provider is the deployment's: the key is (provider of this
	// store, value). Moving to another provider means erasing or
	// re-importing these identities, never reusing them.
	KindLINEUserID = "line_user_id"
)

// numKinds is the number of identity kinds (the length of per-record
// identifier arrays, indexed like IdentityKinds()).
const numKinds = 6

// IdentityKinds lists the identity kinds in resolution order. It is the one
// list of identity columns: import headers, staging tables, reserved trait
// names and log redaction derive from it.
func IdentityKinds() []string {
	return []string{KindUserID, KindEmail, KindPhone, KindAnonymousID, KindDeviceToken, KindLINEUserID}
}

// ProfileColumns lists the columns of the profiles table that are not
// traits (ids, flags, times and the identities kept on the row).
func ProfileColumns() []string {
	return []string{"id", KindUserID, KindEmail, KindPhone, "timezone", "restricted", "objected", "first_seen_at", "updated_at"}
}

// rowKinds lists the identity kinds also kept on the profile row (one
// value per profile), in ProfileColumns order.
func rowKinds() []string {
	var out []string
	for _, c := range ProfileColumns() {
		if isIdentityKind(c) {
			out = append(out, c)
		}
	}
	return out
}

// SystemNames lists every name that is not a trait: the profile columns and
// every identity kind. Journeys' update steps and the trait catalog refuse
// them.
func SystemNames() []string {
	out := ProfileColumns()
	for _, k := range IdentityKinds() {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func isIdentityKind(k string) bool {
	for _, x := range IdentityKinds() {
		if x == k {
			return true
		}
	}
	return false
}

// maxIdentifierLen bounds identifiers, which are keys, not documents.
const maxIdentifierLen = 512

// NormaliseEmail trims and lower-cases an address and checks its form.
func NormaliseEmail(raw string) (string, error) {
	if at, msg := badText(raw); at >= 0 {
		return "", errors.New("email " + msg)
	}
	e := strings.ToLower(strings.TrimSpace(raw))
	if e == "" {
		return "", errors.New("empty email")
	}
	if len(e) > maxIdentifierLen {
		return "", errors.New("email too long")
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" {
		return "", fmt.Errorf("%q is not an email address", raw)
	}
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 {
		return "", fmt.Errorf("%q is not an email address", raw)
	}
	return e, nil
}

// NormalisePhone returns the number in E.164. A number without a country
// code needs region, an ISO 3166-1 alpha-2 country.
func NormalisePhone(raw, region string) (string, error) {
	p := strings.TrimSpace(raw)
	if p == "" {
		return "", errors.New("empty phone")
	}
	if len(p) > 64 {
		return "", errors.New("phone too long")
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	if !strings.HasPrefix(p, "+") && !strings.HasPrefix(p, "00") && region == "" {
		return "", fmt.Errorf("phone %q has no country code and no country is known (add a country column or default_region)", raw)
	}
	if region == "" {
		region = "ZZ"
	}
	num, err := phonenumbers.Parse(p, region)
	if err != nil {
		return "", fmt.Errorf("phone %q: %w", raw, err)
	}
	if !phonenumbers.IsPossibleNumber(num) {
		return "", fmt.Errorf("phone %q is not a possible number", raw)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// lineUserIDRE is line.ValidUserID's rule (the engine imports no channel).
var lineUserIDRE = regexp.MustCompile(`^U[0-9a-f]{32}$`)

// NormaliseLINEUserID trims a LINE user id and checks its form: "U" and 32
// lower-case hex digits, as the Messaging API gives it. Case is kept (LINE
// ids are case-sensitive), so an upper-case hex digit is refused.
func NormaliseLINEUserID(raw string) (string, error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return "", errors.New("empty line_user_id")
	}
	if !lineUserIDRE.MatchString(v) {
		return "", errors.New("line_user_id is not a LINE user id (want U and 32 lower-case hex digits)")
	}
	return v, nil
}

func validRegion(r string) bool {
	return phonenumbers.GetSupportedRegions()[strings.ToUpper(r)]
}

// normaliseIdentifier normalises a value of the given kind.
func normaliseIdentifier(kind, raw, region string) (string, error) {
	switch kind {
	case KindEmail:
		return NormaliseEmail(raw)
	case KindPhone:
		return NormalisePhone(raw, region)
	case KindLINEUserID:
		return NormaliseLINEUserID(raw)
	}
	if at, msg := badText(raw); at >= 0 {
		return "", fmt.Errorf("%s %s", kind, msg)
	}
	v := strings.TrimSpace(raw)
	if v == "" {
		return "", fmt.Errorf("empty %s", kind)
	}
	if len(v) > maxIdentifierLen {
		return "", fmt.Errorf("%s too long", kind)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("%s contains a control character", kind)
		}
	}
	return v, nil
}

// HashIdentifier is the keyed hash of a normalised identifier. Suppressions
// and the merge log keep only these, so they outlive erasure without
// holding the address itself.
func (s *Store) HashIdentifier(kind, normalised string) string {
	return hashIdentifierWith(hmac.New(sha256.New, s.hashKey), kind, normalised)
}

// hashIdentifierWith is HashIdentifier with an HMAC of the store's key that
// the caller reuses across many identifiers.
func hashIdentifierWith(m hash.Hash, kind, normalised string) string {
	return hex.EncodeToString(hashIdentifierSum(m, kind, normalised))
}

// hashIdentifierSum is the keyed hash's bytes (HashIdentifier is their hex).
func hashIdentifierSum(m hash.Hash, kind, normalised string) []byte {
	var scratch []byte
	return appendIdentifierSum(m, &scratch, nil, kind, normalised)
}

// appendIdentifierSum appends the keyed hash's bytes to dst: the HMAC of
// the kind, a NUL and the normalised value. scratch holds that input
// between calls, so that hashing many identifiers allocates nothing.
func appendIdentifierSum(m hash.Hash, scratch *[]byte, dst []byte, kind, normalised string) []byte {
	*scratch = append(append(append((*scratch)[:0], kind...), 0), normalised...)
	m.Reset()
	m.Write(*scratch)
	return m.Sum(dst)
}

// NormaliseIdentifier normalises an identifier of a kind, using the
// configured default region for phones.
func (s *Store) NormaliseIdentifier(kind, raw string) (string, error) {
	if !isIdentityKind(kind) {
		return "", fmt.Errorf("unknown identity kind %q", kind)
	}
	return normaliseIdentifier(kind, raw, s.cfg.DefaultRegion)
}
