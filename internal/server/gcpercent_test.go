package server

import (
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		storage, gogc string
		pct           int
		after         time.Duration
		ok            bool
	}{
		{"raft", "", 200, 0, true},
		{"file", "", 50, time.Second, true},
		{"inmem", "", 50, time.Second, true},
		{"postgresql", "", 50, time.Second, true},
		{"", "", 50, time.Second, true},
		{"raft", "100", 0, 0, false},
		{"file", "off", 0, 0, false},
	} {
		pct, after, ok := gcPercentFor(c.storage, c.gogc)
		if pct != c.pct || after != c.after || ok != c.ok {
			t.Errorf("gcPercentFor(%q, %q) = %d, %v, %v; want %d, %v, %v", c.storage, c.gogc, pct, after, ok, c.pct, c.after, c.ok)
		}
	}
}
