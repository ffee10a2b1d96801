package seal

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// ParseShare reads a key share as clients send it to sys/unseal,
// sys/rekey/update and sys/generate-root/update: hex, or else standard
// base64, surrounding blanks ignored.
func ParseShare(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// EncodeShares gives shares in both of Vault's forms, hex ("keys") and
// base64 ("keys_base64").
func EncodeShares(shares [][]byte) (hexKeys, b64Keys []string) {
	for _, s := range shares {
		hexKeys = append(hexKeys, hex.EncodeToString(s))
		b64Keys = append(b64Keys, base64.StdEncoding.EncodeToString(s))
	}
	return hexKeys, b64Keys
}
