package agent

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		name, in string
		want     Ref
		wantErr  string
	}{
		{"tresor kv path", "tresor://secret/app#password", Ref{"tresor", "secret/app", "password", 0}, ""},
		{"vault api path", "vault://secret/data/app#user", Ref{"vault", "secret/data/app", "user", 0}, ""},
		{"dso dynamic", "dso://database/creds/app#username", Ref{"dso", "database/creds/app", "username", 0}, ""},
		{"version after key", "dso://secret/data/app#pw?version=3", Ref{"dso", "secret/data/app", "pw", 3}, ""},
		{"version before key", "tresor://secret/app?version=2#pw", Ref{"tresor", "secret/app", "pw", 2}, ""},
		{"surrounding space", "  tresor://secret/app#pw \n", Ref{"tresor", "secret/app", "pw", 0}, ""},
		{"slashes trimmed", "tresor:///secret/app/#pw", Ref{"tresor", "secret/app", "pw", 0}, ""},
		{"no scheme", "secret/app#pw", Ref{}, "not a reference"},
		{"unknown scheme", "op://vault/item/field", Ref{}, "not a reference"},
		{"no key", "tresor://secret/app", Ref{}, "missing #KEY"},
		{"empty key", "tresor://secret/app#", Ref{}, "empty key"},
		{"empty path", "tresor://#pw", Ref{}, "empty path"},
		{"dot dot", "tresor://secret/../sys/seal#pw", Ref{}, "bad path segment"},
		{"double slash", "tresor://secret//app#pw", Ref{}, "bad path segment"},
		{"zero version", "tresor://secret/app#pw?version=0", Ref{}, "positive integer"},
		{"bad version", "tresor://secret/app#pw?version=x", Ref{}, "positive integer"},
		{"unknown param", "tresor://secret/app#pw?ttl=1", Ref{}, "unknown parameter"},
		{"two queries", "tresor://secret/app?version=1#pw?version=2", Ref{}, "two queries"},
		{"two fragments", "tresor://secret/app#pw#x", Ref{}, "bad character"},
		{"too long", "tresor://" + strings.Repeat("a", maxRefLen) + "#k", Ref{}, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRef(%q) = %+v, %v; want error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if again, err := ParseRef(got.String()); err != nil || again != got {
				t.Fatalf("round trip of %q: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestReplaceRefs(t *testing.T) {
	text := `services:
  app:
    environment:
      - DB_PASSWORD=dso://secret/data/app#password
      - DB_USER=dso://database/creds/app#username
      - AGAIN=dso://secret/data/app#password
      - OLD=tresor://secret/app#password?version=1
      - URL=https://example.com/#anchor
`
	refs, err := FindRefs(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 3 {
		t.Fatalf("FindRefs = %v; want 3 distinct references", refs)
	}
	out, err := ReplaceRefs(text, func(r Ref) (string, error) { return "<" + r.Key + ">", nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DB_PASSWORD=<password>\n", "DB_USER=<username>\n", "AGAIN=<password>\n", "OLD=<password>\n", "URL=https://example.com/#anchor\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	boom := errors.New("boom")
	if _, err := ReplaceRefs(text, func(Ref) (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Errorf("error = %v; want boom", err)
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"tresor://secret/app#pw", "dso://secret/data/a#b?version=2", "vault://a?version=1#b", "vault://#", "dso://a/../b#c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			return
		}
		if r.Path == "" || r.Key == "" || r.Version < 0 {
			t.Fatalf("ParseRef(%q) accepted %+v", s, r)
		}
		again, err := ParseRef(r.String())
		if err != nil || again != r {
			t.Fatalf("round trip of %q: %+v %v, want %+v", r.String(), again, err, r)
		}
		_, _ = FindRefs(s)
	})
}
