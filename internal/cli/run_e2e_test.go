package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// runWithEnv runs the CLI in-process with vars as its whole environment
// (Getenv and Environ agree).
func runWithEnv(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, Env{
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(k string) string { return vars[k] },
		Environ: func() []string {
			var env []string
			for k, v := range vars {
				env = append(env, k+"="+v)
			}
			return env
		},
		HomeDir: t.TempDir(),
	})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func secretServer(t *testing.T) *servertest.Server {
	t.Helper()
	srv := servertest.New(t, servertest.Options{})
	if _, err := srv.Client.KVv2("secret").Put(context.Background(), "app", map[string]any{"password": "s3cret-pw", "api_key": "key-123456"}); err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestRunCommand(t *testing.T) {
	srv := secretServer(t)
	base := map[string]string{
		"PATH":        os.Getenv("PATH"),
		"VAULT_ADDR":  srv.Addr,
		"VAULT_TOKEN": srv.RootToken,
		"PW":          "tresor://secret/app#password",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	t.Run("env prints resolved values", func(t *testing.T) {
		envFile := filepath.Join(t.TempDir(), "app.env")
		if err := os.WriteFile(envFile, []byte("# devstack\nAPI_KEY=dso://secret/data/app#api_key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runWithEnv(t, base, "run", "-env-file", envFile, "--", "env")
		if r.code != 0 || !strings.Contains(r.stdout, "PW=s3cret-pw\n") || !strings.Contains(r.stdout, "API_KEY=key-123456\n") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("child flags are not ours", func(t *testing.T) {
		r := runWithEnv(t, base, "run", "--", "sh", "-c", `echo "$0 $1"`, "-format=json", "-h")
		if r.code != 0 || r.stdout != "-format=json -h\n" {
			t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("missing reference", func(t *testing.T) {
		r := runWithEnv(t, with(map[string]string{"MISSING": "tresor://secret/app#nokey"}), "run", "--", "echo", "started")
		if r.code == 0 || strings.Contains(r.stdout, "started") || !strings.Contains(r.stderr, "tresor://secret/app#nokey") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stderr+r.stdout, "s3cret") {
			t.Fatalf("a secret leaked:\n%s", r.stderr)
		}
	})
	t.Run("stopped server", func(t *testing.T) {
		r := runWithEnv(t, with(map[string]string{"VAULT_ADDR": "http://127.0.0.1:1"}), "run", "--", "echo", "started")
		if r.code == 0 || strings.Contains(r.stdout, "started") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("mask", func(t *testing.T) {
		r := runWithEnv(t, base, "run", "-mask", "--", "sh", "-c", `echo "pw=$PW"`)
		if r.code != 0 || r.stdout != "pw=<concealed by tresor>\n" {
			t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("approle from the environment", func(t *testing.T) {
		c := srv.Client
		if err := c.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
			t.Fatal(err)
		}
		if err := c.Sys().PutPolicy("app", `path "secret/data/app" { capabilities = ["read"] }`); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("auth/approle/role/app", map[string]any{"token_policies": "app"}); err != nil {
			t.Fatal(err)
		}
		rid, err := c.Logical().Read("auth/approle/role/app/role-id")
		if err != nil {
			t.Fatal(err)
		}
		sid, err := c.Logical().Write("auth/approle/role/app/secret-id", nil)
		if err != nil {
			t.Fatal(err)
		}
		vars := with(map[string]string{"VAULT_ROLE_ID": rid.Data["role_id"].(string), "VAULT_SECRET_ID": sid.Data["secret_id"].(string)})
		delete(vars, "VAULT_TOKEN")
		r := runWithEnv(t, vars, "run", "--", "sh", "-c", `echo "$PW"`)
		if r.code != 0 || r.stdout != "s3cret-pw\n" {
			t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}

func TestInjectCommand(t *testing.T) {
	srv := secretServer(t)
	vars := map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.RootToken}
	compose := `services:
  app:
    image: myapp:latest
    environment:
      - DB_PASSWORD=dso://secret/data/app#password
      - API_KEY=dso://secret/data/app#api_key
`
	in := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(in, []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer("dso://secret/data/app#password", "s3cret-pw", "dso://secret/data/app#api_key", "key-123456").Replace(compose)

	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		t.Skip("no /dev/shm on this machine")
	}
	shm, err := os.MkdirTemp("/dev/shm", "tresor-inject-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	out := filepath.Join(shm, "compose.yaml")
	r := runWithEnv(t, vars, "inject", "-in", in, "-out", out)
	if r.code != 0 {
		t.Fatalf("exit %d stderr %s", r.code, r.stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil || string(got) != want {
		t.Fatalf("output %q, %v; want %q", got, err, want)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v; want 0600", fi.Mode().Perm())
	}

	disk := filepath.Join(t.TempDir(), "compose.yaml")
	r = runWithEnv(t, vars, "inject", "-in", in, "-out", disk)
	if r.code == 0 || !strings.Contains(r.stderr, "refusing") {
		t.Fatalf("disk path: exit %d stderr %s", r.code, r.stderr)
	}
	if _, err := os.Stat(disk); err == nil {
		t.Fatal("wrote to disk")
	}
	if r = runWithEnv(t, vars, "inject", "-in", in, "-out", disk, "-allow-disk"); r.code != 0 {
		t.Fatalf("-allow-disk: exit %d stderr %s", r.code, r.stderr)
	}

	r = runWithEnv(t, vars, "inject", "-in", in, "-out", "-")
	if r.code != 0 || r.stdout != want {
		t.Fatalf("stdout: exit %d %q", r.code, r.stdout)
	}

	bad := filepath.Join(t.TempDir(), "bad.env")
	_ = os.WriteFile(bad, []byte("A=dso://secret/data/app#password\nB=dso://secret/data/gone#x\n"), 0o644)
	r = runWithEnv(t, vars, "inject", "-in", bad, "-out", filepath.Join(shm, "bad.env"))
	if r.code == 0 || !strings.Contains(r.stderr, "dso://secret/data/gone#x") || strings.Contains(r.stderr, "s3cret") {
		t.Fatalf("missing ref: exit %d stderr %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(shm, "bad.env")); err == nil {
		t.Fatal("wrote a file despite a failed reference")
	}
}

func TestAgentCommandExitAfterAuth(t *testing.T) {
	srv := secretServer(t)
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "in-token")
	if err := os.WriteFile(tokFile, []byte(srv.RootToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sink := filepath.Join(dir, "sink")
	conf := filepath.Join(dir, "agent.json")
	// JSON, with the vault address coming from VAULT_ADDR.
	if err := os.WriteFile(conf, []byte(`{
  "auto_auth": {
    "method": {"token_file": {"config": {"token_file_path": "`+tokFile+`"}}},
    "sink": [{"file": {"config": {"path": "`+sink+`"}}}]
  },
  "telemetry": {"disable_hostname": true}
}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runWithEnv(t, map[string]string{"VAULT_ADDR": srv.Addr}, "agent", "-config="+conf, "-exit-after-auth")
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(sink); string(got) != srv.RootToken {
		t.Errorf("sink holds %q", got)
	}
	if !strings.Contains(r.stderr, "telemetry: accepted and ignored") || strings.Contains(r.stderr, srv.RootToken) {
		t.Errorf("stderr:\n%s", r.stderr)
	}

	bad := filepath.Join(dir, "bad.hcl")
	_ = os.WriteFile(bad, []byte(`auto_auth { method "kubernetes" {} }`), 0o600)
	if r := runWithEnv(t, map[string]string{"VAULT_ADDR": srv.Addr}, "agent", "-config="+bad); r.code != 1 || !strings.Contains(r.stderr, "not supported") {
		t.Errorf("bad config: exit %d stderr %s", r.code, r.stderr)
	}
}
