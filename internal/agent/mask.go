package agent

import (
	"bytes"
	"io"
	"sort"
	"sync"
)

// Concealed replaces a secret value in masked output.
const Concealed = "<concealed by tresor>"

// minMaskLen is the shortest value masked: shorter ones ("1", "on") would
// blot out ordinary output without hiding anything worth hiding.
const minMaskLen = 4

// MaskWriter copies to W with every occurrence of a secret value replaced
// by Concealed. A write that ends with the beginning of a value is held
// back until the next write (or Flush) shows whether the value follows.
type MaskWriter struct {
	W io.Writer

	mu      sync.Mutex
	secrets [][]byte // longest first
	pending []byte
}

// SetSecrets replaces the values to mask.
func (m *MaskWriter) SetSecrets(values []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secrets = m.secrets[:0]
	seen := map[string]bool{}
	for _, v := range values {
		if len(v) >= minMaskLen && !seen[v] {
			seen[v] = true
			m.secrets = append(m.secrets, []byte(v))
		}
	}
	sort.Slice(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
}

// Write implements io.Writer.
func (m *MaskWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	buf := append(m.pending, p...)
	out, rest := m.mask(buf)
	m.pending = append([]byte(nil), rest...)
	if len(out) > 0 {
		if _, err := m.W.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes what was held back.
func (m *MaskWriter) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	out, _ := m.maskAll(m.pending)
	m.pending = nil
	if len(out) == 0 {
		return nil
	}
	_, err := m.W.Write(out)
	return err
}

// mask replaces whole values in buf and splits off the longest tail that
// could still become a value.
func (m *MaskWriter) mask(buf []byte) (out, rest []byte) {
	out, _ = m.maskAll(buf)
	hold := 0
	for _, s := range m.secrets {
		for n := min(len(s)-1, len(out)); n > hold; n-- {
			if bytes.HasSuffix(out, s[:n]) {
				hold = n
				break
			}
		}
	}
	return out[:len(out)-hold], out[len(out)-hold:]
}

func (m *MaskWriter) maskAll(buf []byte) ([]byte, bool) {
	changed := false
	for _, s := range m.secrets {
		if bytes.Contains(buf, s) {
			buf = bytes.ReplaceAll(buf, s, []byte(Concealed))
			changed = true
		}
	}
	return buf, changed
}
