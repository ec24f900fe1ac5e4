package pki

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

const (
	// AdminTokenPrefix starts every admin token, so a token pasted into a
	// terminal or a log says what it grants.
	AdminTokenPrefix = "wk-admin."
	// JoinTokenPrefix starts every join token.
	JoinTokenPrefix = "wk-join."
	// tokenBytes is the entropy of a token: 256 bits.
	tokenBytes = 32
)

// NewToken returns prefix followed by 32 random bytes encoded as unpadded
// base64url (43 characters), e.g. NewToken(AdminTokenPrefix) is
// "wk-admin.<43 chars>". The prefix is for people; all of the secret is in
// the random part.
func NewToken(prefix string) (string, error) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// TokenEqual reports whether the presented token a equals the expected token
// b in time that depends on neither content nor length. An empty token never
// matches, so an unset expected token cannot be satisfied by sending none.
func TokenEqual(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ha := sha256.Sum256([]byte(a))
	hb := sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
