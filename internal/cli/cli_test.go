package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/version"
)

func TestCommandsAgainstFakeServer(t *testing.T) {
	tests := map[string]struct {
		sealed, uninit bool
		token          string // VAULT_TOKEN; "root" unless set to "-"
		stdin          string
		args           []string
		wantCode       int
		wantOut        string // exact stdout, unless wantOutHas is set
		wantOutHas     []string
		wantErrHas     []string
	}{
		"status unsealed is exit 0 with vault's table": {
			args:     []string{"status"},
			wantCode: 0,
			wantOut: "Key             Value\n" +
				"---             -----\n" +
				"Seal Type       shamir\n" +
				"Initialized     true\n" +
				"Sealed          false\n" +
				"Total Shares    5\n" +
				"Threshold       3\n" +
				"Version         1.21.0\n" +
				"Build Date      2025-01-01T00:00:00Z\n" +
				"Storage Type    inmem\n" +
				"HA Enabled      false\n",
		},
		"status sealed is exit 2 and shows progress": {
			sealed:     true,
			args:       []string{"status"},
			wantCode:   2,
			wantOutHas: []string{"Sealed             true\n", "Unseal Progress    0/3\n", "Unseal Nonce       n/a\n"},
		},
		"status json is the seal-status document": {
			args:       []string{"status", "-format=json"},
			wantCode:   0,
			wantOutHas: []string{`"type": "shamir"`, `"sealed": false`, `"t": 3`, `"ha_enabled": false`, `"storage_type": "inmem"`},
		},
		"status with arguments is a usage error": {
			args:       []string{"status", "extra"},
			wantCode:   1,
			wantErrHas: []string{"Too many arguments (expected 0, got 1)"},
		},
		"bad flag is exit 1": {
			args:       []string{"status", "-bogus"},
			wantCode:   1,
			wantErrHas: []string{"flag provided but not defined: -bogus"},
		},
		"read prints the secret table with humanized durations": {
			args:     []string{"read", "secret/foo"},
			wantCode: 0,
			wantOut: "Key                 Value\n" +
				"---                 -----\n" +
				"refresh_interval    768h\n" +
				"password            hunter2\n" +
				"ttl                 1h\n",
		},
		"read -field prints the raw value without newline": {
			args:     []string{"read", "-field=password", "secret/foo"},
			wantCode: 0,
			wantOut:  "hunter2",
		},
		"read -field with json quotes the value": {
			args:     []string{"read", "-format=json", "-field=password", "secret/foo"},
			wantCode: 0,
			wantOut:  `"hunter2"`,
		},
		"read missing field is exit 1": {
			args:       []string{"read", "-field=nope", "secret/foo"},
			wantCode:   1,
			wantErrHas: []string{`Field "nope" not present in secret`},
		},
		"read json is the whole envelope": {
			args:       []string{"read", "-format=json", "secret/foo"},
			wantCode:   0,
			wantOutHas: []string{`"request_id": "req-1"`, `"lease_duration": 2764800`, `"password": "hunter2"`, `"mount_type": "kv"`},
		},
		"read yaml uses API field names": {
			args:       []string{"read", "-format=yaml", "secret/foo"},
			wantCode:   0,
			wantOutHas: []string{"lease_duration: 2764800\n", "  password: hunter2\n", "request_id: req-1\n"},
		},
		"format after the path is still honoured": {
			args:       []string{"read", "secret/foo", "-format=json"},
			wantCode:   0,
			wantOutHas: []string{`"password": "hunter2"`},
		},
		"read of nothing is exit 2": {
			args:       []string{"read", "secret/none"},
			wantCode:   2,
			wantErrHas: []string{"No value found at secret/none"},
		},
		"read forbidden is exit 2 with the API error": {
			token:      "wrong",
			args:       []string{"read", "secret/foo"},
			wantCode:   2,
			wantErrHas: []string{"Error reading secret/foo: Error making API request.", "Code: 403. Errors:", "* permission denied"},
		},
		"read without a path is exit 1": {
			args:       []string{"read"},
			wantCode:   1,
			wantErrHas: []string{"Not enough arguments (expected 1, got 0)"},
		},
		"read on a sealed server is exit 2": {
			sealed:     true,
			args:       []string{"read", "secret/foo"},
			wantCode:   2,
			wantErrHas: []string{"Code: 503", "Vault is sealed"},
		},
		"read table prints warnings on stderr": {
			args:       []string{"read", "secret/warn"},
			wantCode:   0,
			wantOutHas: []string{"a      b"},
			wantErrHas: []string{"WARNING!", "* careful"},
		},
		"write succeeds with a message": {
			args:     []string{"write", "secret/new", "a=b"},
			wantCode: 0,
			wantOut:  "Success! Data written to: secret/new\n",
		},
		"write without data needs -force": {
			args:       []string{"write", "secret/new"},
			wantCode:   1,
			wantErrHas: []string{"Must supply data or use -force"},
		},
		"write -f writes nothing": {
			args:     []string{"write", "-f", "secret/new"},
			wantCode: 0,
			wantOut:  "Success! Data written to: secret/new\n",
		},
		"write with bad data is exit 1": {
			args:       []string{"write", "secret/new", "novalue"},
			wantCode:   1,
			wantErrHas: []string{"Failed to parse K=V data", "key=value"},
		},
		"write with a missing file is exit 1": {
			args:       []string{"write", "secret/new", "a=@/does/not/exist"},
			wantCode:   1,
			wantErrHas: []string{"reading file"},
		},
		"write rejected by the server is exit 2": {
			args:       []string{"write", "secret/bad", "a=b"},
			wantCode:   2,
			wantErrHas: []string{"Error writing data to secret/bad:", "Code: 400", "* missing required field"},
		},
		"delete reports success": {
			args:     []string{"delete", "secret/foo"},
			wantCode: 0,
			wantOut:  "Success! Data deleted (if it existed) at: secret/foo\n",
		},
		"list prints a Keys table": {
			args:     []string{"list", "secret/"},
			wantCode: 0,
			wantOut:  "Keys\n----\nbar/\nfoo\n",
		},
		"list json is the keys array": {
			args:     []string{"list", "-format=json", "secret"},
			wantCode: 0,
			wantOut:  "[\n  \"foo\",\n  \"bar/\"\n]\n",
		},
		"list of nothing is exit 2": {
			args:       []string{"list", "secret/none/"},
			wantCode:   2,
			wantErrHas: []string{"No value found at secret/none"},
		},
		"operator init prints keys and root token": {
			uninit:     true,
			args:       []string{"operator", "init", "-key-shares=2", "-key-threshold=2"},
			wantCode:   0,
			wantOutHas: []string{"Unseal Key 1: aaaa\nUnseal Key 2: bbbb\n\nInitial Root Token: root\n", "2 key shares and a key threshold of 2"},
		},
		"operator init accepts vault's -n and -t": {
			uninit:     true,
			args:       []string{"operator", "init", "-n", "1", "-t", "1", "-format=json"},
			wantCode:   0,
			wantOutHas: []string{`"unseal_keys_b64": [`, `"unseal_shares": 1`, `"root_token": "root"`},
		},
		"operator init twice is exit 2": {
			args:       []string{"operator", "init"},
			wantCode:   2,
			wantErrHas: []string{"Error initializing:", "already initialized"},
		},
		"operator init -status uninitialized is exit 2": {
			uninit:   true,
			args:     []string{"operator", "init", "-status"},
			wantCode: 2,
			wantOut:  "Server is not initialized\n",
		},
		"operator unseal with a key argument": {
			sealed:     true,
			args:       []string{"operator", "unseal", "abcd"},
			wantCode:   0,
			wantOutHas: []string{"Unseal Progress    1/3"},
		},
		"operator unseal reads a piped key": {
			sealed:     true,
			stdin:      "abcd\n",
			args:       []string{"operator", "unseal"},
			wantCode:   0,
			wantOutHas: []string{"Unseal Key (will be hidden): \n", "Unseal Progress    1/3"},
		},
		"operator unseal with no stdin is exit 1": {
			sealed:     true,
			args:       []string{"operator", "unseal"},
			wantCode:   1,
			wantOutHas: []string{"Unseal Key (will be hidden): "},
			wantErrHas: []string{"Could not read the unseal key"},
		},
		"operator unseal with an empty key is exit 2": {
			sealed:     true,
			stdin:      "\n",
			args:       []string{"operator", "unseal"},
			wantCode:   2,
			wantOutHas: []string{"Unseal Key (will be hidden): \n"},
			wantErrHas: []string{"Error unsealing:", "'key' must be specified"},
		},
		"operator unseal -reset": {
			sealed:     true,
			args:       []string{"operator", "unseal", "-reset"},
			wantCode:   0,
			wantOutHas: []string{"Unseal Progress    0/3"},
		},
		"operator seal": {
			args:     []string{"operator", "seal"},
			wantCode: 0,
			wantOut:  "Success! Server is sealed.\n",
		},
		"operator key-status": {
			args:     []string{"operator", "key-status"},
			wantCode: 0,
			wantOut:  "Key Term            2\nInstall Time        01 May 24 10:00 UTC\nEncryption Count    7\n",
		},
		"operator rotate json": {
			args:       []string{"operator", "rotate", "-format=json"},
			wantCode:   0,
			wantOutHas: []string{`"term": 2`, `"encryptions": 7`},
		},
		"output-curl-string prints the request instead": {
			args:       []string{"read", "-output-curl-string", "secret/foo"},
			wantCode:   0,
			wantOutHas: []string{"curl ", "/v1/secret/foo"},
		},
		"unknown command is exit 127 with usage": {
			args:       []string{"frobnicate"},
			wantCode:   127,
			wantErrHas: []string{"Usage: tresor <command> [args]"},
		},
		"no arguments is exit 127 with usage": {
			args:       nil,
			wantCode:   127,
			wantErrHas: []string{"Common commands:"},
		},
		"help is exit 0 on stdout": {
			args:       []string{"-h"},
			wantCode:   0,
			wantOutHas: []string{"Common commands:", "operator"},
		},
		"command help is exit 0": {
			args:       []string{"write", "--help"},
			wantCode:   0,
			wantOutHas: []string{"Usage: tresor write", "-force", "HTTP Options:", "-address=<string>"},
		},
		"parent command without subcommand is exit 1 with help": {
			args:       []string{"operator"},
			wantCode:   1,
			wantErrHas: []string{"Subcommands:", "unseal"},
		},
		"invalid format is exit 1": {
			args:       []string{"status", "-format=xml"},
			wantCode:   1,
			wantErrHas: []string{"Invalid output format: xml"},
		},
		"server without server support": {
			args:       []string{"server", "-dev"},
			wantCode:   1,
			wantErrHas: []string{"server support not built in"},
		},
		"version": {
			args:       []string{"-version"},
			wantCode:   0,
			wantOutHas: []string{"Tresor v" + version.Version},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFakeVault(t)
			f.sealed, f.inited = tc.sealed, !tc.uninit
			token := "root"
			if tc.token != "" {
				token = tc.token
			}
			vars := map[string]string{"VAULT_ADDR": f.URL, "VAULT_TOKEN": token}
			r := runCLI(t, t.TempDir(), vars, tc.stdin, tc.args...)
			if r.code != tc.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			if tc.wantOutHas == nil && r.stdout != tc.wantOut {
				t.Errorf("stdout =\n%q\nwant\n%q", r.stdout, tc.wantOut)
			}
			for _, s := range tc.wantOutHas {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tc.wantErrHas {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
		})
	}
}

func TestWriteSendsParsedData(t *testing.T) {
	f := newFakeVault(t)
	file := filepath.Join(t.TempDir(), "pw.txt")
	if err := os.WriteFile(file, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"VAULT_ADDR": f.URL, "VAULT_TOKEN": "root"}
	r := runCLI(t, "", vars, "from-stdin", "write", "secret/x", "a=b=c", "pw=@"+file, "in=-", "a=d")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got, _ := json.Marshal(f.secrets["secret/x"])
	want := `{"a":["b=c","d"],"in":"from-stdin","pw":"s3cret"}`
	if string(got) != want {
		t.Errorf("server got %s, want %s", got, want)
	}
}

func TestConnectionFailure(t *testing.T) {
	f := newFakeVault(t)
	addr := f.URL
	f.Close() // nothing listens there any more
	tests := map[string]struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		"read is a remote error": {args: []string{"read", "secret/foo"}, wantCode: 2, wantErr: "Error reading secret/foo: "},
		// 2 would mean "sealed", so status reports errors as 1, like vault.
		"status is exit 1": {args: []string{"status"}, wantCode: 1, wantErr: "Error checking seal status: "},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, "", map[string]string{"VAULT_ADDR": addr, "VAULT_TOKEN": "root"}, "", tc.args...)
			if r.code != tc.wantCode || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.wantCode, tc.wantErr)
			}
		})
	}
}

func TestLoginStoresTokenForLaterCommands(t *testing.T) {
	f := newFakeVault(t)
	home := t.TempDir()
	vars := map[string]string{"VAULT_ADDR": f.URL}

	// Without a token the read is denied.
	if r := runCLI(t, home, vars, "", "read", "secret/foo"); r.code != 2 {
		t.Fatalf("read before login: exit %d, want 2", r.code)
	}
	r := runCLI(t, home, vars, "", "login", "root")
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	for _, s := range []string{"Success!", "token                root", "token_accessor       acc1", "token_duration       ∞", `token_policies       ["root"]`} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("login output lacks %q:\n%s", s, r.stdout)
		}
	}
	path := filepath.Join(home, ".vault-token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	if r := runCLI(t, home, vars, "", "read", "-field=password", "secret/foo"); r.code != 0 || r.stdout != "hunter2" {
		t.Errorf("read after login: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestLoginVariants(t *testing.T) {
	tests := map[string]struct {
		stdin      string
		args       []string
		wantCode   int
		wantOut    string
		wantStored bool
	}{
		"token-only prints just the token": {
			args: []string{"login", "-token-only", "root"}, wantOut: "root",
		},
		"token from stdin with -": {
			stdin: "root\n", args: []string{"login", "-token-only", "-"}, wantOut: "root",
		},
		"prompted token read from piped stdin": {
			stdin: "root\n", args: []string{"login", "-no-print"}, wantStored: true,
		},
		"bad token is exit 2": {
			args: []string{"login", "nope"}, wantCode: 2,
		},
		"no-store with no-print is exit 1": {
			args: []string{"login", "-no-store", "-no-print", "root"}, wantCode: 1,
		},
		"unknown method is exit 1": {
			args: []string{"login", "-method=ldap", "x=y"}, wantCode: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFakeVault(t)
			home := t.TempDir()
			r := runCLI(t, home, map[string]string{"VAULT_ADDR": f.URL}, tc.stdin, tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tc.wantCode, r.stderr)
			}
			if tc.wantOut != "" && r.stdout != tc.wantOut {
				t.Errorf("stdout %q, want %q", r.stdout, tc.wantOut)
			}
			_, err := os.Stat(filepath.Join(home, ".vault-token"))
			if stored := err == nil; stored != tc.wantStored {
				t.Errorf("token stored = %v, want %v", stored, tc.wantStored)
			}
		})
	}
}
