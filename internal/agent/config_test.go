package agent

import (
	"os"
	"strings"
	"testing"
	"time"
)

const hclConfig = `
pid_file = "./pidfile"

vault {
  address         = "https://127.0.0.1:8200"
  ca_cert         = "/etc/ca.pem"
  tls_skip_verify = true
  retry {
    num_retries = 5
  }
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path                   = "/etc/role-id"
      secret_id_file_path                 = "/etc/secret-id"
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" {
    config {
      path = "/tmp/token"
      mode = 0600
    }
  }
}

cache {
  use_auto_auth_token = true
}

listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}

template_config {
  static_secret_render_interval = "10s"
  exit_on_retry_failure         = true
}

template {
  contents    = "{{ with secret \"secret/data/app\" }}{{ .Data.data.password }}{{ end }}"
  destination = "/dev/shm/app.txt"
  perms       = "0640"
  command     = "systemctl reload app"
  error_on_missing_key = true
}

template {
  source          = "/etc/app.tpl"
  destination     = "/dev/shm/app.conf"
  left_delimiter  = "[["
  right_delimiter = "]]"
}

env_template "DB_PASSWORD" {
  contents = "{{ with secret \"secret/data/app\" }}{{ .Data.data.password }}{{ end }}"
}

exec {
  command                   = ["./app", "--serve"]
  restart_on_secret_changes = "always"
  restart_stop_signal       = "SIGINT"
}
`

const jsonConfig = `{
  "vault": {"address": "https://127.0.0.1:8200", "ca_cert": "/etc/ca.pem", "tls_skip_verify": true, "retry": {"num_retries": 5}},
  "pid_file": "./pidfile",
  "auto_auth": {
    "method": [{"type": "approle", "mount_path": "auth/approle", "config": {"role_id_file_path": "/etc/role-id", "secret_id_file_path": "/etc/secret-id", "remove_secret_id_file_after_reading": false}}],
    "sink": [{"file": {"config": {"path": "/tmp/token", "mode": 384}}}]
  },
  "cache": {"use_auto_auth_token": true},
  "listener": [{"tcp": {"address": "127.0.0.1:8100", "tls_disable": true}}],
  "template_config": {"static_secret_render_interval": "10s", "exit_on_retry_failure": true},
  "template": [
    {"contents": "{{ with secret \"secret/data/app\" }}{{ .Data.data.password }}{{ end }}", "destination": "/dev/shm/app.txt", "perms": "0640", "command": "systemctl reload app", "error_on_missing_key": true},
    {"source": "/etc/app.tpl", "destination": "/dev/shm/app.conf", "left_delimiter": "[[", "right_delimiter": "]]"}
  ],
  "env_template": {"DB_PASSWORD": {"contents": "{{ with secret \"secret/data/app\" }}{{ .Data.data.password }}{{ end }}"}},
  "exec": {"command": ["./app", "--serve"], "restart_on_secret_changes": "always", "restart_stop_signal": "SIGINT"}
}`

func TestParseConfigHCLAndJSON(t *testing.T) {
	for name, src := range map[string]string{"hcl": hclConfig, "json": jsonConfig} {
		t.Run(name, func(t *testing.T) {
			c, err := ParseConfig([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if c.Vault.Address != "https://127.0.0.1:8200" || c.Vault.CACert != "/etc/ca.pem" || !c.Vault.TLSSkipVerify || c.Vault.NumRetries != 5 {
				t.Errorf("vault = %+v", c.Vault)
			}
			m := c.AutoAuth.Method
			if m.Type != "approle" || m.MountPath != "auth/approle" || m.Config["role_id_file_path"] != "/etc/role-id" || m.Config["secret_id_file_path"] != "/etc/secret-id" {
				t.Errorf("method = %+v", m)
			}
			if len(c.AutoAuth.Sinks) != 1 || c.AutoAuth.Sinks[0] != (SinkConfig{Type: "file", Path: "/tmp/token", Mode: 0o600}) {
				t.Errorf("sinks = %+v", c.AutoAuth.Sinks)
			}
			if c.TemplateConfig.StaticSecretRenderInterval != 10*time.Second || !c.TemplateConfig.ExitOnRetryFailure {
				t.Errorf("template_config = %+v", c.TemplateConfig)
			}
			if len(c.Templates) != 2 {
				t.Fatalf("templates = %+v", c.Templates)
			}
			t0, t1 := c.Templates[0], c.Templates[1]
			if !strings.Contains(t0.Contents, ".Data.data.password") || t0.Destination != "/dev/shm/app.txt" || t0.Perms != 0o640 ||
				strings.Join(t0.Command, " ") != "/bin/sh -c systemctl reload app" || !t0.ErrorOnMissingKey {
				t.Errorf("template 0 = %+v", t0)
			}
			if t1.Source != "/etc/app.tpl" || t1.LeftDelim != "[[" || t1.RightDelim != "]]" {
				t.Errorf("template 1 = %+v", t1)
			}
			if len(c.EnvTemplates) != 1 || c.EnvTemplates[0].Name != "DB_PASSWORD" {
				t.Errorf("env_template = %+v", c.EnvTemplates)
			}
			if e := c.Exec; e == nil || strings.Join(e.Command, " ") != "./app --serve" || e.RestartOnSecretChanges != "always" || e.RestartStopSignal != "SIGINT" {
				t.Errorf("exec = %+v", c.Exec)
			}
			if c.PidFile != "./pidfile" {
				t.Errorf("pid_file = %q", c.PidFile)
			}
			warned := strings.Join(c.Warnings, "\n")
			for _, w := range []string{"cache", "listener"} {
				if !strings.Contains(warned, w+": accepted and ignored") {
					t.Errorf("no warning for %s:\n%s", w, warned)
				}
			}
		})
	}
}

func TestParseConfigDefaultsAndForms(t *testing.T) {
	c, err := ParseConfig([]byte(`
auto_auth {
  method {
    type = "token_file"
    config { token_file_path = "/run/token" }
  }
  sink "file" { config = { path = "/tmp/t" } }
}
api_proxy { use_auto_auth_token = true }
telemetry { disable_hostname = true }
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.AutoAuth.Method.Type != "token_file" || c.AutoAuth.Method.Config["token_file_path"] != "/run/token" {
		t.Errorf("method = %+v", c.AutoAuth.Method)
	}
	if c.AutoAuth.Sinks[0].Mode != 0 || c.TemplateConfig.StaticSecretRenderInterval != 5*time.Minute || c.Vault.NumRetries != 12 {
		t.Errorf("defaults: %+v %+v %+v", c.AutoAuth.Sinks, c.TemplateConfig, c.Vault)
	}
	if len(c.Warnings) != 2 {
		t.Errorf("warnings = %q", c.Warnings)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := map[string]struct{ src, want string }{
		"syntax":            {`vault {`, "parsing"},
		"unknown method":    {`auto_auth { method "kubernetes" { config { role = "x" } } }`, "not supported"},
		"two methods":       {`auto_auth { method "approle" {} method "cert" {} }`, "exactly one method"},
		"no method":         {`auto_auth { sink "file" { config { path = "/t" } } }`, "method is required"},
		"sink without path": {`auto_auth { method "cert" {} sink "file" { config { mode = 0600 } } }`, "without a path"},
		"template both":     {`template { source = "a" contents = "b" destination = "c" }`, "exactly one of source and contents"},
		"template no dest":  {`template { contents = "b" }`, "destination is required"},
		"env without exec":  {`env_template "A" { contents = "x" }`, "needs an exec"},
		"exec no command":   {`exec { restart_on_secret_changes = "always" }`, "command is required"},
		"bad restart":       {`exec { command = ["a"] restart_on_secret_changes = "sometimes" }`, "always"},
		"bad signal":        {`exec { command = ["a"] restart_stop_signal = "SIGFOO" }`, "unknown signal"},
		"bad mode":          {`auto_auth { method "cert" {} sink "file" { config { path = "/t" mode = "rw" } } }`, "octal"},
		"mode too big":      {`auto_auth { method "cert" {} sink "file" { config { path = "/t" mode = 4095 } } }`, "out of range"},
		"bad duration":      {`template_config { static_secret_render_interval = "soon" }`, "duration"},
		"bad address type":  {`vault { address = 5 }`, "vault.address: want a string"},
		"bad command":       {`exec { command = [1, 2] }`, "want strings"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v; want one containing %q", err, tt.want)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(hclConfig))
	f.Add([]byte(jsonConfig))
	f.Add([]byte(`auto_auth { method { type = "approle" } sink = [{ file = { config = { path = "x" } } }] }`))
	f.Add([]byte(`template = [{ contents = 1 }]`))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := ParseConfig(src)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}

func TestLoadConfigMissingFile(t *testing.T) {
	if _, err := LoadConfig("/nonexistent/agent.hcl"); !os.IsNotExist(err) {
		t.Errorf("error = %v", err)
	}
}
