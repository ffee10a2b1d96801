package token

import (
	"sync"
	"testing"
)

func TestKeyLocks(t *testing.T) {
	a, b := key{1}, key{2}
	tests := map[string]func(l *keyLocks, i int) func(){
		"crosswise parents never deadlock": func(l *keyLocks, i int) func() {
			if i%2 == 0 {
				return l.lockUnder(a, b)
			}
			return l.lockUnder(b, a)
		},
		"token equal to its parent is taken once": func(l *keyLocks, _ int) func() { return l.lockUnder(a, a) },
		"siblings share the parent":               func(l *keyLocks, i int) func() { return l.lockUnder(key{byte(i)}, a) },
		"exclusive against creations": func(l *keyLocks, i int) func() {
			if i%4 == 0 {
				return l.lock(a)
			}
			return l.lockUnder(key{byte(i)}, a)
		},
	}
	for name, take := range tests {
		t.Run(name, func(t *testing.T) {
			var l keyLocks
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					for range 200 {
						take(&l, i)()
					}
				})
			}
			wg.Wait()
			if len(l.m) != 0 {
				t.Errorf("%d locks left in the table after release", len(l.m))
			}
		})
	}
}
