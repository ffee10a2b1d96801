package randid

import (
	"regexp"
	"testing"
)

func TestUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		u := UUID()
		if !re.MatchString(u) || seen[u] {
			t.Fatalf("UUID() = %q (repeat: %v)", u, seen[u])
		}
		seen[u] = true
	}
}

func TestBase62(t *testing.T) {
	re := regexp.MustCompile(`^[0-9A-Za-z]{24}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := Base62(24)
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("Base62(24) = %q (repeat: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func BenchmarkUUID(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		UUID()
	}
}
