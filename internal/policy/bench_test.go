package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

// benchACL compiles the default policy and ten team policies of 20 rules
// each (exact, glob and "+" rules), a realistic token's worth.
func benchACL(b *testing.B) *ACL {
	b.Helper()
	ps := []*Policy{builtin(DefaultName).Render(alice)}
	for i := range 10 {
		var t strings.Builder
		for j := range 7 {
			fmt.Fprintf(&t, "path \"secret/data/team%d/app%d\" { capabilities = [\"read\"] }\n", i, j)
			fmt.Fprintf(&t, "path \"secret/metadata/team%d/app%d/*\" { capabilities = [\"list\"] }\n", i, j)
			if j < 6 {
				fmt.Fprintf(&t, "path \"kv%d/+/app%d/+\" { capabilities = [\"update\"] }\n", i, j)
			}
		}
		p, err := Parse(fmt.Sprintf("team%d", i), t.String())
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	a, err := NewACL(ps...)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

func benchAllowed(b *testing.B, op logical.Operation, path string) {
	a := benchACL(b)
	if !a.Allowed(op, path, nil, 0).Allowed {
		b.Fatalf("%s %s not allowed", op, path)
	}
	b.ReportAllocs()
	for b.Loop() {
		a.Allowed(op, path, nil, 0)
	}
}

func BenchmarkACLAllowedExact(b *testing.B) {
	benchAllowed(b, logical.ReadOperation, "secret/data/team7/app3")
}

func BenchmarkACLAllowedGlob(b *testing.B) {
	benchAllowed(b, logical.ListOperation, "secret/metadata/team7/app3/sub/dir/")
}

func BenchmarkACLAllowedPlus(b *testing.B) {
	benchAllowed(b, logical.UpdateOperation, "kv7/prod/app3/db")
}
