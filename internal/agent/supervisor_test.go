package agent_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/agent"
)

// machineRole creates an AppRole for a registry machine with a policy
// reading paths, and returns its role and secret IDs.
func machineRole(t *testing.T, c *api.Client, name string, paths ...string) (roleID, secretID string) {
	t.Helper()
	if auths, _ := c.Sys().ListAuth(); auths["approle/"] == nil {
		if err := c.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
			t.Fatal(err)
		}
	}
	var pol strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&pol, "path %q { capabilities = [\"read\"] }\n", p)
	}
	if err := c.Sys().PutPolicy(name, pol.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/approle/role/"+name, map[string]any{"token_policies": name, "token_ttl": "1h"}); err != nil {
		t.Fatal(err)
	}
	rid, err := c.Logical().Read("auth/approle/role/" + name + "/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := c.Logical().Write("auth/approle/role/"+name+"/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	return rid.Data["role_id"].(string), sid.Data["secret_id"].(string)
}

// serviceScript counts the service's starts, logs them in order and dumps
// its environment, then waits to be stopped. The start is logged before
// the environment file appears, because the health check passes on that
// file: logged after it, a check could pass, and log, before the start.
func serviceScript(name string) string {
	return fmt.Sprintf(`["sh", "-c", "env | sort > \"$DIR/%[1]s.env.tmp\"; echo start-%[1]s >> \"$DIR/order\"; mv \"$DIR/%[1]s.env.tmp\" \"$DIR/%[1]s.env\"; echo x >> \"$DIR/%[1]s.starts\"; exec sleep 60"]`, name)
}

// healthScript passes once the service runs with the value of variable
// and cond holds; it logs its passing in order.
func healthScript(name, variable, cond string) string {
	return fmt.Sprintf(`["sh", "-c", "%[3]s grep -qx \"%[2]s=$%[2]s\" \"$DIR/%[1]s.env\" && echo health-%[1]s >> \"$DIR/order\""]`, name, variable, cond)
}

func countLines(p string) int {
	return strings.Count(readFile(p), "\n")
}

// envVars reads a dumped environment as a map.
func envVars(t *testing.T, p string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readFile(p)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

type supervised struct {
	logs   *syncBuffer
	status string
	sigs   chan os.Signal
	done   chan error
}

func startSupervisor(t *testing.T, s *api.Client, reg *agent.Registry, machine string, environ []string) *supervised {
	t.Helper()
	client, err := s.Clone()
	if err != nil {
		t.Fatal(err)
	}
	client.ClearToken()
	sv := &supervised{
		logs:   &syncBuffer{},
		status: filepath.Join(t.TempDir(), "status.json"),
		sigs:   make(chan os.Signal, 1),
		done:   make(chan error, 1),
	}
	go func() {
		sv.done <- agent.Supervise(context.Background(), agent.SuperviseOptions{
			Registry: reg, Machine: machine, Client: client, Environ: environ,
			Stdout: sv.logs, Stderr: sv.logs, Logger: newLogger(sv.logs), StatusFile: sv.status,
			HealthTimeout: 2 * time.Second, HealthInterval: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
			Grace: 2 * time.Second, Signals: sv.sigs,
		})
	}()
	t.Cleanup(func() {
		sv.stop(t)
		if t.Failed() {
			t.Logf("supervisor log:\n%s", sv.logs.String())
		}
	})
	return sv
}

func (sv *supervised) stop(t *testing.T) {
	select {
	case sv.sigs <- syscall.SIGTERM:
	default:
	}
	select {
	case err, ok := <-sv.done:
		if ok && err != nil {
			t.Errorf("supervise: %v", err)
		}
		if ok {
			close(sv.done)
		}
	case <-time.After(15 * time.Second):
		t.Error("the supervisor did not stop")
	}
}

func TestRegistryPortoserExample(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	c := s.Client
	if err := c.Sys().Mount("database", &api.MountInput{Type: "leasetest"}); err != nil {
		t.Fatal(err)
	}
	kvPut(t, c, "services/api", map[string]any{"api_key": "api-key-1", "unused": "not-for-api"})
	kvPut(t, c, "shared/smtp", map[string]any{"host": "smtp-1.example", "password": "smtp-pw-1"})
	kvPut(t, c, "shared/database", map[string]any{"url": "postgres://db-1"})
	kvPut(t, c, "services/web", map[string]any{"session-secret": "web-session-1"})
	kvPut(t, c, "certs/tls", map[string]any{"cert": "CERT-1", "key": "KEY-1", "ca": "CA-1"})
	kvPut(t, c, "services/tls", map[string]any{"name": "tls-name-1"})
	m1Role, m1Secret := machineRole(t, c, "m1", "secret/data/services/*", "secret/data/shared/*", "secret/data/certs/*", "database/creds/tls")
	m2Role, m2Secret := machineRole(t, c, "m2", "secret/data/services/batch")

	dir := t.TempDir()
	certDir := t.TempDir()
	shm, err := os.MkdirTemp("/dev/shm", "tresor-registry-")
	envFile := ""
	if err == nil && agent.CheckMemoryFS(shm) == nil {
		t.Cleanup(func() { os.RemoveAll(shm) })
		envFile = filepath.Join(shm, "web.env")
	}
	envFileLine := ""
	if envFile != "" {
		envFileLine = "    env_file: " + envFile
	}
	text := fmt.Sprintf(`machines:
  m1:
    host: "127.0.0.1"
    vault_role: "m1"
    vault_role_id: %q
    vault_secret_id: %q
  m2:
    host: "127.0.0.2"
    vault_role_id: %q
    vault_secret_id: %q
services:
  api:
    machine: m1
    command: %s
    health_command: %s
    vault_secrets:
      - path: "secret/data/services/api"
        keys: ["api_key"]
      - path: "secret/data/shared/smtp"
        mapping: { host: "SMTP_HOST", password: "SMTP_PASSWORD" }
    auto_rotate: true
    rotation_interval: "200ms"
  web:
    machine: m1
    command: %s
    health_command: %s
%s
    vault_secrets:
      - path: "secret/services/web"
        keys: ["session-secret"]
      - path: "secret/data/shared/database"
        keys: ["url"]
      - path: "secret/shared/smtp"
        keys: ["host"]
    auto_rotate: true
    rotation_interval: "200ms"
  tls:
    machine: m1
    command: %s
    vault_secrets:
      - path: "secret/data/services/tls"
        keys: ["name"]
    vault_dynamic:
      - engine: "database"
        role: "tls"
        env_prefix: "DB"
    vault_certs:
      path: "secret/data/certs/tls"
      cert_file: %q
      key_file: %q
    auto_rotate: true
    rotation_interval: "200ms"
  denied:
    machine: m1
    command: %s
    vault_secrets:
      - path: "secret/data/admin/root"
        keys: ["password"]
  batch:
    machine: m2
    command: %s
    vault_secrets:
      - path: "secret/data/services/batch"
        keys: ["job"]
`, m1Role, m1Secret, m2Role, m2Secret,
		serviceScript("api"), healthScript("api", "SMTP_HOST", `test \"$SMTP_HOST\" != bad.example &&`),
		serviceScript("web"), healthScript("web", "HOST", ""), envFileLine,
		serviceScript("tls"), filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"),
		serviceScript("denied"), serviceScript("batch"))
	file := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	reg, err := agent.LoadRegistry(file)
	if err != nil {
		t.Fatal(err)
	}
	sv := startSupervisor(t, c, reg, "m1", []string{"PATH=" + os.Getenv("PATH"), "DIR=" + dir, "VAULT_TOKEN=leak", "TRESOR_ADDR=x"})

	waitFor(t, 10*time.Second, "three services started", func() bool {
		return countLines(filepath.Join(dir, "api.starts")) == 1 && countLines(filepath.Join(dir, "web.starts")) == 1 &&
			countLines(filepath.Join(dir, "tls.starts")) == 1 && strings.Contains(sv.logs.String(), "service=denied")
	})

	// Each service sees exactly its variables.
	base := map[string]bool{"PATH": true, "DIR": true, "PWD": true, "SHLVL": true, "_": true}
	for name, want := range map[string]map[string]string{
		"api": {"API_KEY": "api-key-1", "SMTP_HOST": "smtp-1.example", "SMTP_PASSWORD": "smtp-pw-1"},
		"web": {"SESSION_SECRET": "web-session-1", "URL": "postgres://db-1", "HOST": "smtp-1.example"},
		"tls": {"NAME": "tls-name-1", "DB_USERNAME": "v-creds-tls-1", "DB_PASSWORD": "pw-v-creds-tls-1"},
	} {
		got := envVars(t, filepath.Join(dir, name+".env"))
		for k := range got {
			if !base[k] {
				if _, ok := want[k]; !ok {
					t.Errorf("%s sees %s, which is not its variable", name, k)
				}
			}
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s=%q; want %q", name, k, got[k], v)
			}
		}
	}
	for _, f := range []string{"denied.starts", "batch.starts"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s exists: a service that must not start started", f)
		}
	}
	logs := sv.logs.String()
	if !strings.Contains(logs, "secret/data/admin/root#password") {
		t.Errorf("the error does not name the reference:\n%s", logs)
	}
	// Certificates: atomically written, key 0600, certificate 0644.
	for f, want := range map[string]struct {
		text string
		mode os.FileMode
	}{"tls.crt": {"CERT-1", 0o644}, "tls.key": {"KEY-1", 0o600}, "tls-ca.crt": {"CA-1", 0o644}} {
		p := filepath.Join(certDir, f)
		fi, err := os.Stat(p)
		if err != nil || readFile(p) != want.text || fi.Mode().Perm() != want.mode {
			t.Errorf("%s: %q %v %v; want %q mode %v", f, readFile(p), fi, err, want.text, want.mode)
		}
	}
	if envFile != "" {
		fi, err := os.Stat(envFile)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("env_file: %v %v; want mode 0600", fi, err)
		}
		vars, err := agent.ParseEnvFile(readFile(envFile))
		sort.Strings(vars)
		if err != nil || strings.Join(vars, " ") != "HOST=smtp-1.example SESSION_SECRET=web-session-1 URL=postgres://db-1" {
			t.Errorf("env_file: %v %v", vars, err)
		}
	}

	// A change to one path restarts only its consumers, one at a time,
	// each after the previous one's health check.
	os.Remove(filepath.Join(dir, "order"))
	kvPut(t, c, "shared/smtp", map[string]any{"host": "smtp-2.example", "password": "smtp-pw-2"})
	waitFor(t, 10*time.Second, "api and web restarted", func() bool {
		return countLines(filepath.Join(dir, "api.starts")) == 2 && countLines(filepath.Join(dir, "web.starts")) == 2 &&
			strings.Contains(readFile(filepath.Join(dir, "order")), "health-web")
	})
	if got := strings.Fields(readFile(filepath.Join(dir, "order"))); strings.Join(got, " ") != "start-api health-api start-web health-web" {
		t.Errorf("restart order %v; want api, its health check, then web and its health check", got)
	}
	if got := envVars(t, filepath.Join(dir, "api.env")); got["SMTP_HOST"] != "smtp-2.example" || got["SMTP_PASSWORD"] != "smtp-pw-2" {
		t.Errorf("api after rotation: %v", got)
	}
	if got := envVars(t, filepath.Join(dir, "web.env")); got["HOST"] != "smtp-2.example" {
		t.Errorf("web after rotation: %v", got)
	}
	waitFor(t, 10*time.Second, "the status to show version 2 of shared/smtp", func() bool {
		st, err := agent.ReadStatus(sv.status)
		return err == nil && len(st.Services) == 4 && st.Services[0].Paths["secret/data/shared/smtp"] == 2 && st.Services[0].Rotation == "ok"
	})
	if n := countLines(filepath.Join(dir, "tls.starts")); n != 1 {
		t.Errorf("tls started %d times; it consumes nothing that changed", n)
	}
	if !strings.Contains(sv.logs.String(), `msg=rotation service=api path=secret/data/shared/smtp old_version=1 new_version=2`) {
		t.Errorf("no rotation event for api in the log")
	}

	// A failed health check puts the previous values back.
	kvPut(t, c, "shared/smtp", map[string]any{"host": "bad.example", "password": "smtp-pw-3"})
	waitFor(t, 10*time.Second, "the rollback", func() bool {
		st, err := agent.ReadStatus(sv.status)
		return err == nil && strings.HasPrefix(st.Services[0].Rotation, "failed (rolled back)") && st.Services[0].State == agent.StateRunning &&
			countLines(filepath.Join(dir, "web.starts")) == 3 && countLines(filepath.Join(dir, "api.starts")) == 4
	})
	if got := envVars(t, filepath.Join(dir, "api.env")); got["SMTP_HOST"] != "smtp-2.example" || got["SMTP_PASSWORD"] != "smtp-pw-2" {
		t.Errorf("api after the rollback: %v", got)
	}
	apiStarts := countLines(filepath.Join(dir, "api.starts"))
	if apiStarts != 4 {
		t.Errorf("api started %d times; want 4 (the rotation, then the rollback)", apiStarts)
	}
	time.Sleep(600 * time.Millisecond) // three more checks: the refused values are not tried again
	if n := countLines(filepath.Join(dir, "api.starts")); n != apiStarts {
		t.Errorf("api restarted again with the values its health check refused (%d starts)", n)
	}
	if n := countLines(filepath.Join(dir, "tls.starts")); n != 1 {
		t.Errorf("tls started %d times", n)
	}

	fi, err := os.Stat(sv.status)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("status file: %v %v; want mode 0600", fi, err)
	}
	var out strings.Builder
	st, _ := agent.ReadStatus(sv.status)
	agent.FormatStatus(&out, st)
	for _, want := range []string{"api\n  machine        m1\n  state          running", "secret/data/shared/smtp v2", "secret/shared/smtp v3", "failed (rolled back)", "denied", "secret/data/admin/root#password"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}

	sv.stop(t)
	st, _ = agent.ReadStatus(sv.status)
	for _, s := range st.Services {
		if s.Name != "denied" && s.State != agent.StateStopped {
			t.Errorf("%s is %s after SIGTERM", s.Name, s.State)
		}
	}
	logs = sv.logs.String()
	for _, secret := range []string{"api-key-1", "smtp-pw-1", "smtp-pw-2", "smtp-pw-3", "bad.example", "web-session-1", "KEY-1", "pw-v-creds", "leak", m1Secret} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log shows the secret value %q", secret)
		}
	}
}

func TestRegistryRestartsACrashingService(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	role, secret := machineRole(t, s.Client, "m1", "secret/data/app")
	dir := t.TempDir()
	reg, err := agent.ParseRegistry("r.yml", []byte(fmt.Sprintf(`machines:
  m1: {vault_role_id: %q, vault_secret_id: %q}
services:
  flaky:
    machine: m1
    command: ["sh", "-c", "echo \"$PASSWORD\" >> \"$DIR/flaky\"; [ $(wc -l < \"$DIR/flaky\") -ge 3 ] && exec sleep 60; exit 3"]
    vault_secrets:
      - path: secret/app
        keys: [password]
  missing:
    machine: m1
    command: ["sh", "-c", "touch \"$DIR/missing\""]
    vault_secrets:
      - path: secret/app
        keys: [password, no-such-key]
`, role, secret)))
	if err != nil {
		t.Fatal(err)
	}
	sv := startSupervisor(t, s.Client, reg, "m1", []string{"PATH=" + os.Getenv("PATH"), "DIR=" + dir})
	waitFor(t, 10*time.Second, "three starts", func() bool { return countLines(filepath.Join(dir, "flaky")) == 3 })
	if got := readFile(filepath.Join(dir, "flaky")); got != "s3cret-v2\ns3cret-v2\ns3cret-v2\n" {
		t.Errorf("starts saw %q", got)
	}
	waitFor(t, 5*time.Second, "status running", func() bool {
		st, err := agent.ReadStatus(sv.status)
		return err == nil && st.Services[0].State == agent.StateRunning && st.Services[0].Starts == 3
	})
	logs := sv.logs.String()
	if !strings.Contains(logs, "status=3") {
		t.Errorf("the exit status is not logged")
	}
	// A missing key keeps its service from starting; the error names the
	// service and the reference, not the value beside it.
	if !strings.Contains(logs, `service=missing error="service \"missing\": vault://secret/app#no-such-key: key not in secret"`) || strings.Contains(logs, "s3cret") {
		t.Errorf("log:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("the service with a missing key started")
	}
}

func TestRegistryUnknownMachine(t *testing.T) {
	reg, err := agent.ParseRegistry("r.yml", []byte("machines:\n  m1: {vault_role_id: x}\nservices:\n  a: {machine: m1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := api.NewClient(api.DefaultConfig())
	err = agent.Supervise(context.Background(), agent.SuperviseOptions{Registry: reg, Machine: "m9", Client: c})
	if err == nil || !strings.Contains(err.Error(), `no machine "m9"`) {
		t.Errorf("got %v", err)
	}
}

func TestRegistryDynamicCredentials(t *testing.T) {
	s, eng := testServer(t, 2*time.Second, "4s")
	role, secret := machineRole(t, s.Client, "m1", "db/creds/*")
	dir := t.TempDir()
	reg, err := agent.ParseRegistry("r.yml", []byte(fmt.Sprintf(`machines:
  m1: {vault_role_id: %q, vault_secret_id: %q}
services:
  rotating:
    machine: m1
    command: %s
    vault_dynamic:
      - {engine: db, role: rotating, env_prefix: DB}
    auto_rotate: true
    rotation_interval: 1h
  fixed:
    machine: m1
    command: %s
    vault_dynamic:
      - {engine: db, role: fixed, env_prefix: PG}
`, role, secret, serviceScript("rotating"), serviceScript("fixed"))))
	if err != nil {
		t.Fatal(err)
	}
	startSupervisor(t, s.Client, reg, "m1", []string{"PATH=" + os.Getenv("PATH"), "DIR=" + dir})
	waitFor(t, 10*time.Second, "both started", func() bool {
		return countLines(filepath.Join(dir, "rotating.starts")) == 1 && countLines(filepath.Join(dir, "fixed.starts")) == 1
	})
	first := envVars(t, filepath.Join(dir, "rotating.env"))["DB_USERNAME"]
	fixed := envVars(t, filepath.Join(dir, "fixed.env"))["PG_USERNAME"]
	if first == "" || fixed == "" || envVars(t, filepath.Join(dir, "fixed.env"))["PG_PASSWORD"] != "pw-"+fixed {
		t.Fatalf("credentials: %q %q", first, fixed)
	}
	// The lease is renewed until its max TTL nears; then the auto_rotate
	// service gets new credentials and restarts, the other keeps its own.
	waitFor(t, 15*time.Second, "new credentials before the max TTL", func() bool {
		return countLines(filepath.Join(dir, "rotating.starts")) == 2
	})
	if got := envVars(t, filepath.Join(dir, "rotating.env"))["DB_USERNAME"]; got == first || got == "" {
		t.Errorf("after the max TTL the service runs with %q (was %q)", got, first)
	}
	if eng.renews.Load() == 0 {
		t.Error("no lease was renewed")
	}
	if n := countLines(filepath.Join(dir, "fixed.starts")); n != 1 {
		t.Errorf("the service without auto_rotate started %d times", n)
	}
}

func TestRegistryRestartCommandAndSignals(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	shm, err := os.MkdirTemp("/dev/shm", "tresor-registry-")
	if err != nil || agent.CheckMemoryFS(shm) != nil {
		t.Skipf("no tmpfs at /dev/shm for env_file: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	role, secret := machineRole(t, s.Client, "m1", "secret/data/app")
	dir := t.TempDir()
	envFile := filepath.Join(shm, "compose.env")
	reg, err := agent.ParseRegistry("r.yml", []byte(fmt.Sprintf(`machines:
  m1: {vault_role_id: %q, vault_secret_id: %q}
services:
  compose:
    machine: m1
    env_file: %s
    restart_command: ["sh", "-c", "cat \"%[3]s\" >> \"$DIR/compose.log\""]
    vault_secrets:
      - {path: secret/app, keys: [password]}
    auto_rotate: true
    rotation_interval: 100ms
  sig:
    machine: m1
    command: ["sh", "-c", "trap 'echo hup >> \"$DIR/sig.hup\"' HUP USR1; echo up > \"$DIR/sig.up\"; while :; do sleep 0.05; done"]
`, role, secret, envFile)))
	if err != nil {
		t.Fatal(err)
	}
	sv := startSupervisor(t, s.Client, reg, "m1", []string{"PATH=" + os.Getenv("PATH"), "DIR=" + dir})
	waitFor(t, 10*time.Second, "restart_command and the child", func() bool {
		return readFile(filepath.Join(dir, "compose.log")) == "PASSWORD=s3cret-v2\n" && readFile(filepath.Join(dir, "sig.up")) != ""
	})
	if fi, err := os.Stat(envFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("env_file: %v %v", fi, err)
	}
	kvPut(t, s.Client, "app", map[string]any{"password": "pw with \"quotes\" and $dollar"})
	waitFor(t, 10*time.Second, "restart_command after the rotation", func() bool {
		return readFile(filepath.Join(dir, "compose.log")) == "PASSWORD=s3cret-v2\nPASSWORD=\"pw with \\\"quotes\\\" and $$dollar\"\n"
	})
	// A process started under nohup ignores SIGHUP, and so does its child
	// shell, whose trap then never fires: forward SIGUSR1 there instead.
	var sig os.Signal = syscall.SIGHUP
	if signal.Ignored(syscall.SIGHUP) {
		sig = syscall.SIGUSR1
	}
	sv.sigs <- sig
	waitFor(t, 10*time.Second, "signal forwarded", func() bool { return readFile(filepath.Join(dir, "sig.hup")) == "hup\n" })
}

func TestRegistrySIGTERMWhileTheServerIsDown(t *testing.T) {
	reg, err := agent.ParseRegistry("r.yml", []byte("machines:\n  m1: {vault_role_id: x, vault_secret_id: y}\nservices:\n  a: {machine: m1, command: [\"true\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.Address = "http://127.0.0.1:1" // nothing listens on port 1
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetMaxRetries(0)
	sigs := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- agent.Supervise(context.Background(), agent.SuperviseOptions{
			Registry: reg, Machine: "m1", Client: c, Signals: sigs,
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		})
	}()
	time.Sleep(100 * time.Millisecond) // a few failed logins
	sigs <- syscall.SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("supervise: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not stop an agent that cannot log in")
	}
}
