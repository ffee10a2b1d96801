package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestKVTargetAPIPath(t *testing.T) {
	tests := map[string]struct {
		mount     string
		v2        bool
		mountFlag string
		arg       string
		prefix    string
		want      string
	}{
		"v2 path form gets data/ after the mount": {
			mount: "secret/", v2: true, arg: "services/my-app", prefix: "data",
			want: "secret/data/services/my-app",
		},
		"v2 path form with the mount in the argument": {
			mount: "secret/", v2: true, arg: "secret/services/my-app", prefix: "metadata",
			want: "secret/metadata/services/my-app",
		},
		"v2 nested mount": {
			mount: "team/kv/", v2: true, arg: "team/kv/app", prefix: "destroy",
			want: "team/kv/destroy/app",
		},
		"v2 mount itself": {
			mount: "secret/", v2: true, arg: "secret", prefix: "metadata",
			want: "secret/metadata",
		},
		"v2 key repeating the mount name": {
			mount: "secret/", v2: true, arg: "secret/secret/x", prefix: "data",
			want: "secret/data/secret/x",
		},
		"v2 with -mount": {
			mount: "secret/", v2: true, mountFlag: "secret", arg: "app", prefix: "data",
			want: "secret/data/app",
		},
		"v1 path is used as is": {
			mount: "kv1/", arg: "kv1/hello", prefix: "data",
			want: "kv1/hello",
		},
		"v1 with -mount joins mount and key": {
			mountFlag: "/kv1/", arg: "hello", prefix: "data",
			want: "kv1/hello",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := newKVTarget(tc.mount, tc.v2, tc.mountFlag, tc.arg).apiPath(tc.prefix)
			if got != tc.want {
				t.Errorf("apiPath(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}
}

func TestPadEquals(t *testing.T) {
	tests := map[string]struct {
		title string
		width int
		want  string
	}{
		"odd padding is rounded up": {"Data", 21, "======== Data ========"},
		"even padding":              {"Metadata", 24, "======= Metadata ======="},
		"too narrow gets two each":  {"Secret Path", 5, "== Secret Path =="},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := padEquals(tc.title, tc.width); got != tc.want {
				t.Errorf("padEquals(%q, %d) = %q, want %q", tc.title, tc.width, got, tc.want)
			}
		})
	}
}

func TestRepeatableFlags(t *testing.T) {
	var (
		list []string
		m    map[string]string
	)
	set := newFlagSet()
	g := set.group("Test")
	g.stringsVar(&list, "policy", "string", "")
	g.mapVar(&m, "options", "key=value", "")
	err := set.fs.Parse([]string{"-policy=a,b", "-policy", "c", "-options=version=2", "-options=x=a=b", "rest"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c"}; !reflect.DeepEqual(list, want) {
		t.Errorf("policies = %q, want %q", list, want)
	}
	if want := map[string]string{"version": "2", "x": "a=b"}; !reflect.DeepEqual(m, want) {
		t.Errorf("options = %v, want %v", m, want)
	}
	if err := set.fs.Parse([]string{"-options=novalue"}); err == nil {
		t.Error("-options without = was accepted")
	}
}

func TestParseIncrement(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    int
		wantErr bool
	}{
		"unset":          {in: "", want: 0},
		"seconds":        {in: "3600", want: 3600},
		"duration":       {in: "1h30m", want: 5400},
		"not a duration": {in: "soon", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseIncrement(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseIncrement(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestMountFlagsBodies(t *testing.T) {
	f := mountFlags{maxTTL: "72h", version: 2, options: map[string]string{"x": "y"}}
	got := f.tuneBody()
	want := map[string]any{"max_lease_ttl": "72h", "options": map[string]string{"x": "y", "version": "2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tuneBody = %v, want %v", got, want)
	}
	if got := kvBody(map[string]any{"a": "b"}, -1); !reflect.DeepEqual(got, map[string]any{"data": map[string]any{"a": "b"}}) {
		t.Errorf("kvBody without cas = %v", got)
	}
	if got := kvBody(map[string]any{}, 0)["options"]; !reflect.DeepEqual(got, map[string]any{"cas": 0}) {
		t.Errorf("kvBody cas=0 options = %v", got)
	}
}

// TestArgumentErrors: mistakes caught before any request is sent are exit
// 1 with vault's message. No server listens at the address.
func TestArgumentErrors(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"kv put without data":            {[]string{"kv", "put", "secret/a"}, "Must supply data"},
		"kv get without a path":          {[]string{"kv", "get"}, "Not enough arguments (expected 1, got 0)"},
		"kv undelete without versions":   {[]string{"kv", "undelete", "secret/a"}, `No versions provided, use the "-versions" flag`},
		"kv destroy without versions":    {[]string{"kv", "destroy", "secret/a"}, "to destroy."},
		"kv rollback without version":    {[]string{"kv", "rollback", "secret/a"}, "Must specify a version"},
		"kv patch with a bad method":     {[]string{"kv", "patch", "-method=put", "secret/a", "a=b"}, "Unsupported method provided to -method flag: put"},
		"kv metadata put bad bool":       {[]string{"kv", "metadata", "put", "-cas-required=maybe", "secret/a"}, "invalid -cas-required"},
		"secrets enable without type":    {[]string{"secrets", "enable"}, "Not enough arguments"},
		"secrets move one argument":      {[]string{"secrets", "move", "a"}, "Not enough arguments (expected 2, got 1)"},
		"policy write without file":      {[]string{"policy", "write", "p"}, "Not enough arguments (expected 2, got 1)"},
		"policy write missing file":      {[]string{"policy", "write", "p", "/does/not/exist.hcl"}, "Failed to read policy"},
		"token revoke self and accessor": {[]string{"token", "revoke", "-self", "-accessor"}, "Cannot use -self with -accessor"},
		"token revoke bad mode":          {[]string{"token", "revoke", "-mode=all", "x"}, "Invalid mode: all"},
		"token revoke nothing":           {[]string{"token", "revoke"}, "Not enough arguments"},
		"token renew bad increment":      {[]string{"token", "renew", "-increment=soon"}, "Error parsing -increment"},
		"token lookup accessor no arg":   {[]string{"token", "lookup", "-accessor"}, "Expected an accessor"},
		"token capabilities no path":     {[]string{"token", "capabilities"}, "Not enough arguments"},
		"token create bad metadata":      {[]string{"token", "create", "-metadata=novalue"}, "key=value"},
		"audit enable bad option":        {[]string{"audit", "enable", "file", "novalue"}, "Failed to parse K=V configuration"},
		"legacy verb checks arguments":   {[]string{"unmount"}, "Not enough arguments"},
	}
	vars := map[string]string{"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "root"}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, "", vars, "", tc.args...)
			if r.code != exitLocal || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.wantErr)
			}
		})
	}
}

func TestPolicyFmt(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.hcl")
	src := "path \"secret/*\" {\ncapabilities=[\"read\",\"list\"]\n}\n"
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", nil, "", "policy", "fmt", file)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got, _ := os.ReadFile(file)
	want := "path \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n"
	if string(got) != want {
		t.Errorf("formatted:\n%s\nwant\n%s", got, want)
	}

	if err := os.WriteFile(file, []byte("path {"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", nil, "", "policy", "fmt", file); r.code != 1 || !strings.Contains(r.stderr, "Error parsing policy") {
		t.Errorf("bad HCL: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestLegacyVerbsAreHidden(t *testing.T) {
	r := runCLI(t, "", nil, "", "-h")
	for _, v := range legacyVerbs {
		if strings.Contains(r.stdout, "\n    "+v.name+" ") {
			t.Errorf("root help lists legacy verb %q", v.name)
		}
	}
	for _, name := range []string{"kv", "secrets", "policy", "token", "auth", "audit"} {
		if !strings.Contains(r.stdout, "\n    "+name+" ") {
			t.Errorf("root help lacks %q:\n%s", name, r.stdout)
		}
	}
}
