package cli

import (
	"reflect"
	"strings"
	"testing"
)

func TestScanGlobalFlags(t *testing.T) {
	tests := map[string]struct {
		args       []string
		env        map[string]string
		wantArgs   []string
		wantFormat string
		wantCurl   bool
	}{
		"default is table":          {args: []string{"status"}, wantArgs: []string{"status"}, wantFormat: "table"},
		"VAULT_FORMAT":              {args: []string{"status"}, env: map[string]string{"VAULT_FORMAT": "json"}, wantArgs: []string{"status"}, wantFormat: "json"},
		"TRESOR_FORMAT wins":        {args: []string{"status"}, env: map[string]string{"VAULT_FORMAT": "json", "TRESOR_FORMAT": "yaml"}, wantArgs: []string{"status"}, wantFormat: "yaml"},
		"flag beats env":            {args: []string{"status", "-format=yaml"}, env: map[string]string{"VAULT_FORMAT": "json"}, wantArgs: []string{"status", "-format=yaml"}, wantFormat: "yaml"},
		"flag after positional arg": {args: []string{"read", "a/b", "--format", "JSON"}, wantArgs: []string{"read", "a/b", "--format", "JSON"}, wantFormat: "json"},
		"nothing after --":          {args: []string{"read", "--", "-format=json"}, wantArgs: []string{"read", "--", "-format=json"}, wantFormat: "table"},
		"curl string":               {args: []string{"read", "x", "-output-curl-string"}, wantArgs: []string{"read", "x", "-output-curl-string"}, wantFormat: "table", wantCurl: true},
		"lone -v is version":        {args: []string{"-v"}, wantArgs: []string{"version"}, wantFormat: "table"},
		"--version is version":      {args: []string{"--version"}, wantArgs: []string{"version"}, wantFormat: "table"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args, g := scanGlobalFlags(tc.args, func(k string) string {
				if v := tc.env["TRESOR_"+k]; v != "" {
					return v
				}
				return tc.env["VAULT_"+k]
			})
			if !reflect.DeepEqual(args, tc.wantArgs) {
				t.Errorf("args %q, want %q", args, tc.wantArgs)
			}
			if g.format != tc.wantFormat || g.curl != tc.wantCurl {
				t.Errorf("got %+v, want format %q curl %v", g, tc.wantFormat, tc.wantCurl)
			}
		})
	}
}

func TestTrailingArgs(t *testing.T) {
	tests := map[string]struct {
		args, wantKept, wantNotFlags []string
	}{
		"plain arguments":         {args: []string{"a/b", "k=v"}, wantKept: []string{"a/b", "k=v"}},
		"dash is stdin, not flag": {args: []string{"a/b", "-"}, wantKept: []string{"a/b", "-"}},
		"global format removed":   {args: []string{"a/b", "-format=json", "k=v"}, wantKept: []string{"a/b", "k=v"}},
		"two-word format removed": {args: []string{"a/b", "-format", "json"}, wantKept: []string{"a/b"}},
		"other flags kept, noted": {args: []string{"a/b", "-field=x"}, wantKept: []string{"a/b", "-field=x"}, wantNotFlags: []string{"-field=x"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			kept, notFlags := trailingArgs(tc.args)
			if !reflect.DeepEqual(kept, tc.wantKept) || !reflect.DeepEqual(notFlags, tc.wantNotFlags) {
				t.Errorf("got %q %q, want %q %q", kept, notFlags, tc.wantKept, tc.wantNotFlags)
			}
		})
	}
}

// Flags go before positional arguments; one after them is an argument, and
// a table-format run says so on stderr.
func TestFlagsAfterArgumentsAreArguments(t *testing.T) {
	f := newFakeVault(t)
	vars := map[string]string{"VAULT_ADDR": f.URL, "VAULT_TOKEN": "root"}
	r := runCLI(t, "", vars, "", "write", "secret/x", "-force")
	if r.code != 1 || !strings.Contains(r.stderr, "Flags must come before positional arguments") {
		t.Errorf("exit %d stderr %q; want 1 and a warning about -force", r.code, r.stderr)
	}
	r = runCLI(t, "", vars, "", "write", "-force", "secret/x")
	if r.code != 0 {
		t.Errorf("flag before argument: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestAddressPrecedence(t *testing.T) {
	vaultSrv, tresorSrv := newFakeVault(t), newFakeVault(t)
	tests := map[string]struct {
		vars map[string]string
		args []string
		want *fakeVault
	}{
		"VAULT_ADDR":               {vars: map[string]string{"VAULT_ADDR": vaultSrv.URL}, want: vaultSrv},
		"TRESOR_ADDR wins":         {vars: map[string]string{"VAULT_ADDR": vaultSrv.URL, "TRESOR_ADDR": tresorSrv.URL}, want: tresorSrv},
		"-address beats both":      {vars: map[string]string{"VAULT_ADDR": tresorSrv.URL, "TRESOR_ADDR": tresorSrv.URL}, args: []string{"-address=" + vaultSrv.URL}, want: vaultSrv},
		"-address as two words":    {vars: map[string]string{"VAULT_ADDR": tresorSrv.URL}, args: []string{"-address", vaultSrv.URL}, want: vaultSrv},
		"TRESOR_TOKEN is a token ": {vars: map[string]string{"VAULT_ADDR": vaultSrv.URL, "VAULT_TOKEN": "bad", "TRESOR_TOKEN": "root"}, want: vaultSrv},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			vaultSrv.lastReq, tresorSrv.lastReq = nil, nil
			if tc.vars["VAULT_TOKEN"] == "" && tc.vars["TRESOR_TOKEN"] == "" {
				tc.vars["VAULT_TOKEN"] = "root"
			}
			args := append(append([]string{"read"}, tc.args...), "-field=password", "secret/foo")
			r := runCLI(t, "", tc.vars, "", args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if tc.want.lastReq == nil {
				t.Error("the expected server got no request")
			}
		})
	}
}

func TestDefaultAddress(t *testing.T) {
	c := newReadCommand(newSession(t.Context(), Env{}))
	c.flagSet()
	if c.address != "https://127.0.0.1:8200" {
		t.Errorf("default address %q", c.address)
	}
}

func TestWrap(t *testing.T) {
	got := wrap(strings.Repeat("word ", 30), 6)
	for _, line := range strings.Split(got, "\n") {
		if len(line) > maxLineLength || !strings.HasPrefix(line, "      word") {
			t.Errorf("bad line %q", line)
		}
	}
}
