// Package apikey makes and checks API keys. A key is a long random token
// shown once; the server stores only its SHA-256 hash, which is fast to
// compute on every request (a password hash such as bcrypt would cost
// milliseconds each time, and buys nothing against 256-bit random tokens).
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Prefix starts every key this server makes, so that leaked keys are easy to
// recognise in logs and by secret scanners.
const Prefix = "hnd_"

// Key is a new API key.
type Key struct {
	ID     string // public id of the key, safe to log
	Secret string // the token to send as "Authorization: Bearer <Secret>"
	Hash   []byte // SHA-256 of Secret, what is stored
}

// New makes a key with 256 random bits.
func New() Key {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	secret := Prefix + base64.RawURLEncoding.EncodeToString(b)
	h := Hash(secret)
	return Key{
		ID:     "key_" + base64.RawURLEncoding.EncodeToString(h[:9]),
		Secret: secret,
		Hash:   h,
	}
}

// Hash returns the SHA-256 of a key.
func Hash(secret string) []byte {
	s := sha256.Sum256([]byte(secret))
	return s[:]
}

// FromHeader extracts the token of an "Authorization: Bearer <token>"
// header value; ok is false when there is none.
func FromHeader(v string) (token string, ok bool) {
	scheme, token, found := strings.Cut(v, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
