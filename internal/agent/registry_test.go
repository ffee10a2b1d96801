package agent_test

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tresorhq/tresor/internal/agent"
)

const portoserRegistry = `machines:
  m1:
    host: "127.0.0.1"
    user: "admin"
    platform: "darwin"
    vault_role: "m1"
    vault_role_id: "rid"
    vault_secret_id: "sid"
  m2:
    vault_role_id_file: /run/m2/role-id
    vault_secret_id_file: /run/m2/secret-id
services:
  my-app:
    type: "docker"
    path: "/opt/my-app"
    machine: m1
    command: ["/opt/my-app/bin/server"]
    vault_secrets:
      - path: "secret/data/services/my-app"
        keys: ["api_key", "database-url"]
      - path: "secret/shared/smtp"
        mapping: { host: "SMTP_HOST", password: "SMTP_PASSWORD" }
    vault_dynamic:
      - engine: "database"
        role: "my-app"
        env_prefix: "DB"
    vault_certs:
      path: "secret/data/certs/my-app"
      cert_file: "/etc/ssl/my-app.crt"
      key_file: "/etc/ssl/my-app.key"
    auto_rotate: true
    rotation_interval: "24h"
  worker:
    machine: m2
    env_file: /dev/shm/worker.env
    restart_command: ["docker", "compose", "up", "-d"]
    vault_secrets:
      - path: secret/data/services/worker
        keys: [token]
    auto_rotate: true
`

func TestParseRegistryPortoserExample(t *testing.T) {
	reg, err := agent.ParseRegistry("registry.yml", []byte(portoserRegistry))
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Machines) != 2 || reg.Machines["m1"].RoleID != "rid" || reg.Machines["m2"].SecretIDFile != "/run/m2/secret-id" {
		t.Errorf("machines: %+v", reg.Machines)
	}
	if len(reg.Services) != 2 || reg.Services[0].Name != "my-app" || reg.Services[1].Name != "worker" {
		t.Fatalf("services: %+v", reg.Services)
	}
	app := reg.Services[0]
	var got []string
	for _, v := range app.Vars {
		got = append(got, v.Name+"="+v.Path+"#"+v.Key)
	}
	want := []string{
		"API_KEY=secret/data/services/my-app#api_key",
		"DATABASE_URL=secret/data/services/my-app#database-url",
		"SMTP_HOST=secret/shared/smtp#host",
		"SMTP_PASSWORD=secret/shared/smtp#password",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("vars:\n got %v\nwant %v", got, want)
	}
	if len(app.Dynamic) != 1 || app.Dynamic[0].Path() != "database/creds/my-app" || app.Dynamic[0].EnvPrefix != "DB" {
		t.Errorf("dynamic: %+v", app.Dynamic)
	}
	if app.Certs == nil || app.Certs.KeyFile != "/etc/ssl/my-app.key" || app.Certs.CAFile != "/etc/ssl/my-app-ca.crt" {
		t.Errorf("certs: %+v", app.Certs)
	}
	if !app.AutoRotate || app.RotationInterval != 24*time.Hour {
		t.Errorf("rotation: %v %v", app.AutoRotate, app.RotationInterval)
	}
	if w := reg.Services[1]; w.RotationInterval != agent.DefaultRotationInterval || w.EnvFile != "/dev/shm/worker.env" || len(w.RestartCommand) != 4 {
		t.Errorf("worker: %+v", w)
	}
	if n := len(reg.MachineServices("m1")); n != 1 {
		t.Errorf("m1 has %d services", n)
	}
	if p := app.Paths(); strings.Join(p, ",") != "database/creds/my-app,secret/data/certs/my-app,secret/data/services/my-app,secret/shared/smtp" {
		t.Errorf("paths %v", p)
	}
}

func TestParseRegistryRefusesBadInput(t *testing.T) {
	head := "machines:\n  m1:\n    vault_role_id: x\nservices:\n"
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown machine", head + "  a:\n    machine: m9\n    vault_secrets:\n      - path: secret/a\n        keys: [k]\n",
			`r.yml:6: service "a": unknown machine "m9"`},
		{"no machine", head + "  a:\n    command: [x]\n", `r.yml:5: service "a": no machine`},
		{"neither keys nor mapping", head + "  a:\n    machine: m1\n    vault_secrets:\n      - path: secret/a\n",
			`r.yml:8: service "a": vault_secrets secret/a: neither keys nor mapping`},
		{"bad interval", head + "  a:\n    machine: m1\n    auto_rotate: true\n    rotation_interval: soon\n",
			`r.yml:8: service "a": rotation_interval "soon"`},
		{"negative interval", head + "  a:\n    machine: m1\n    rotation_interval: -1h\n",
			`r.yml:7: service "a": rotation_interval must be positive`},
		{"duplicate after mapping", head + "  a:\n    machine: m1\n    vault_secrets:\n      - path: secret/a\n        keys: [api_key]\n      - path: secret/b\n        mapping: { key: API_KEY }\n",
			`r.yml:11: service "a": variable API_KEY defined twice (first at line 9)`},
		{"duplicate keys spelled differently", head + "  a:\n    machine: m1\n    vault_secrets:\n      - path: secret/a\n        keys: [db-url, db_url]\n",
			`r.yml:9: service "a": variable DB_URL defined twice`},
		{"dynamic clashes", head + "  a:\n    machine: m1\n    vault_secrets:\n      - path: secret/a\n        mapping: { u: DB_USERNAME }\n    vault_dynamic:\n      - role: r\n        env_prefix: DB\n",
			`r.yml:11: service "a": variable DB_USERNAME defined twice`},
		{"bad mapping name", head + "  a:\n    machine: m1\n    vault_secrets:\n      - path: secret/a\n        mapping: { k: \"1BAD\" }\n",
			`r.yml:9: service "a": vault_secrets secret/a: mapping "k": want a valid variable name`},
		{"no path", head + "  a:\n    machine: m1\n    vault_secrets:\n      - keys: [k]\n", `r.yml:8: service "a": vault_secrets: an entry without path`},
		{"empty command", head + "  a:\n    machine: m1\n    command: []\n", `r.yml:7: service "a": command: want a non-empty list`},
		{"command not a list", head + "  a:\n    machine: m1\n    command: 5\n", `r.yml:7: service "a": cannot unmarshal`},
		{"certs incomplete", head + "  a:\n    machine: m1\n    vault_certs:\n      path: secret/c\n", `r.yml:8: service "a": vault_certs needs path, cert_file and key_file`},
		{"relative env_file", head + "  a:\n    machine: m1\n    env_file: app.env\n", `r.yml:7: service "a": env_file must be an absolute path`},
		{"duplicate service", head + "  a:\n    machine: m1\n  a:\n    machine: m1\n", `r.yml:7: service "a" defined twice`},
		{"no services", "machines:\n  m1: {}\n", `r.yml:1: no services:`},
		{"not a mapping", "- a\n- b\n", `r.yml:1: the registry must be a mapping`},
		{"broken yaml", "machines: [\n", `r.yml: `},
		{"empty", "", `r.yml:1: empty registry`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := agent.ParseRegistry("r.yml", []byte(tc.text))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.text)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n%v\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

func TestUpperSnake(t *testing.T) {
	for in, want := range map[string]string{
		"api_key": "API_KEY", "database-url": "DATABASE_URL", "smtp.host": "SMTP_HOST", "Mixed9": "MIXED9",
	} {
		if got := agent.UpperSnake(in); got != want {
			t.Errorf("UpperSnake(%q) = %q; want %q", in, got, want)
		}
	}
}

func FuzzParseRegistry(f *testing.F) {
	f.Add([]byte(portoserRegistry))
	f.Add([]byte("machines:\n  m1: {}\nservices:\n  a:\n    machine: m1\n    vault_secrets: [{path: x, keys: [a, a]}]\n"))
	f.Add([]byte("services: {a: {machine: m1, rotation_interval: 1d}}\n"))
	f.Add([]byte("machines: &a {x: *a}\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		reg, err := agent.ParseRegistry("f.yml", text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, s := range reg.Services {
			if reg.Machines[s.Machine] == nil {
				t.Fatalf("service %q on unknown machine accepted", s.Name)
			}
			seen := map[string]bool{}
			for _, v := range s.Vars {
				if seen[v.Name] {
					t.Fatalf("duplicate variable %s accepted", v.Name)
				}
				seen[v.Name] = true
			}
		}
	})
}

// BenchmarkParseRegistry parses the Portoser example; the baseline is
// yaml.v3 alone decoding it into a node tree.
func BenchmarkParseRegistry(b *testing.B) {
	text := []byte(portoserRegistry)
	b.Run("yaml-node-baseline", func(b *testing.B) {
		for b.Loop() {
			var n yaml.Node
			if err := yaml.Unmarshal(text, &n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("registry", func(b *testing.B) {
		for b.Loop() {
			if _, err := agent.ParseRegistry("r.yml", text); err != nil {
				b.Fatal(err)
			}
		}
	})
}
