package agent

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/parse"
)

// Config is Vault Agent's configuration, the part Tresor's agent acts on.
// ParseConfig reads it from HCL or JSON, accepting every stanza both as a
// block (config { … }) and as an attribute (config = { … }).
type Config struct {
	Vault          VaultConfig
	AutoAuth       *AutoAuthConfig
	Templates      []TemplateConfig
	TemplateConfig TemplateOptions
	EnvTemplates   []EnvTemplateConfig
	Exec           *ExecConfig
	ExitAfterAuth  bool
	PidFile        string
	// Warnings name the stanzas and keys read but not acted on.
	Warnings []string
}

// VaultConfig is the vault stanza: where the server is.
type VaultConfig struct {
	Address       string
	CACert        string
	CAPath        string
	ClientCert    string
	ClientKey     string
	TLSSkipVerify bool
	// NumRetries is retry { num_retries }: how many times a failed request
	// is retried (default 12, as Vault Agent); < 0 never gives up.
	NumRetries int
}

// AutoAuthConfig is the auto_auth stanza.
type AutoAuthConfig struct {
	Method MethodConfig
	Sinks  []SinkConfig
}

// MethodConfig is auto_auth's method: approle, token_file or cert.
type MethodConfig struct {
	Type      string
	MountPath string
	Config    map[string]any
}

// SinkConfig is a file sink.
type SinkConfig struct {
	Type string
	Path string
	Mode os.FileMode
}

// TemplateConfig is one template stanza.
type TemplateConfig struct {
	Source, Contents  string
	Destination       string
	Perms             os.FileMode
	Command           []string // a string command runs through sh -c
	ErrorOnMissingKey bool
	LeftDelim         string
	RightDelim        string
}

// TemplateOptions is the template_config stanza.
type TemplateOptions struct {
	StaticSecretRenderInterval time.Duration // default 5m
	ExitOnRetryFailure         bool
}

// EnvTemplateConfig is env_template "NAME" { contents }.
type EnvTemplateConfig struct {
	Name              string
	Contents          string
	ErrorOnMissingKey bool
}

// ExecConfig is the exec stanza: the supervised service.
type ExecConfig struct {
	Command                []string
	RestartOnSecretChanges string // "always" (default) or "never"
	RestartStopSignal      string // default SIGTERM
}

// maxConfigSize bounds a configuration file.
const maxConfigSize = 1 << 20

// ParseConfig parses an agent configuration in HCL or JSON.
func ParseConfig(src []byte) (*Config, error) {
	if len(src) > maxConfigSize {
		return nil, errors.New("configuration larger than 1 MiB")
	}
	raw, err := parseHCL(src)
	if err != nil {
		return nil, fmt.Errorf("parsing configuration: %w", err)
	}
	c := &Config{
		Vault:          VaultConfig{NumRetries: 12},
		TemplateConfig: TemplateOptions{StaticSecretRenderInterval: 5 * time.Minute},
	}
	d := &decoder{}
	d.top(c, raw)
	if d.err != nil {
		return nil, d.err
	}
	c.Warnings = d.warnings
	return c, c.validate()
}

// LoadConfig reads and parses the file at path.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(b)
}

func (c *Config) validate() error {
	if c.AutoAuth != nil {
		switch c.AutoAuth.Method.Type {
		case "approle", "token_file", "cert":
		case "":
			return errors.New("auto_auth: a method is required")
		default:
			return fmt.Errorf("auto_auth: method %q is not supported (approle, token_file, cert)", c.AutoAuth.Method.Type)
		}
		for _, s := range c.AutoAuth.Sinks {
			if s.Type != "file" {
				return fmt.Errorf("auto_auth: sink %q is not supported (file)", s.Type)
			}
			if s.Path == "" {
				return errors.New("auto_auth: file sink without a path")
			}
		}
	}
	for i, t := range c.Templates {
		if (t.Source == "") == (t.Contents == "") {
			return fmt.Errorf("template %d: exactly one of source and contents is required", i+1)
		}
		if t.Destination == "" {
			return fmt.Errorf("template %d: destination is required", i+1)
		}
	}
	for _, e := range c.EnvTemplates {
		if e.Contents == "" {
			return fmt.Errorf("env_template %q: contents is required", e.Name)
		}
	}
	if len(c.EnvTemplates) > 0 && c.Exec == nil {
		return errors.New("env_template needs an exec stanza")
	}
	if c.Exec != nil {
		if len(c.Exec.Command) == 0 {
			return errors.New("exec: command is required")
		}
		switch c.Exec.RestartOnSecretChanges {
		case "", "always", "never":
		default:
			return fmt.Errorf("exec: restart_on_secret_changes must be \"always\" or \"never\"")
		}
		if c.Exec.RestartStopSignal != "" {
			if _, err := ParseSignal(c.Exec.RestartStopSignal); err != nil {
				return fmt.Errorf("exec: restart_stop_signal: %w", err)
			}
		}
	}
	return nil
}

// decoder turns HCL's generic decoding (every block a []map[string]any)
// into typed stanzas, keeping the first error and every warning.
type decoder struct {
	err      error
	warnings []string
	at       string // the key being decoded, for error messages
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %s", d.at, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) warn(format string, args ...any) {
	d.warnings = append(d.warnings, fmt.Sprintf(format, args...))
}

// ignored are Vault Agent stanzas Tresor accepts and does not act on.
var ignored = map[string]bool{
	"cache": true, "listener": true, "api_proxy": true, "telemetry": true,
	"log_level": true, "log_file": true, "log_format": true, "disable_mlock": true,
	"persist": true, "replication": true, "disable_idle_connections": true,
	"disable_keep_alives": true, "template_retry": true,
}

func (d *decoder) top(c *Config, raw map[string]any) {
	for _, k := range sortedKeys(raw) {
		v := raw[k]
		d.at = k
		switch k {
		case "vault":
			d.vault(&c.Vault, d.one(k, v))
		case "auto_auth":
			c.AutoAuth = d.autoAuth(d.one(k, v))
		case "template":
			for _, b := range d.blocks(k, v) {
				c.Templates = append(c.Templates, d.template(b))
			}
		case "template_config":
			d.templateOptions(&c.TemplateConfig, d.one(k, v))
		case "env_template":
			for _, lb := range d.labeled(k, v) {
				e := EnvTemplateConfig{Name: lb.label}
				d.fields("env_template", lb.body, map[string]func(any){
					"contents":             d.str(&e.Contents),
					"error_on_missing_key": d.boolean(&e.ErrorOnMissingKey),
				})
				c.EnvTemplates = append(c.EnvTemplates, e)
			}
		case "exec":
			c.Exec = &ExecConfig{}
			d.fields("exec", d.one(k, v), map[string]func(any){
				"command":                   d.command(&c.Exec.Command),
				"restart_on_secret_changes": d.str(&c.Exec.RestartOnSecretChanges),
				"restart_stop_signal":       d.str(&c.Exec.RestartStopSignal),
			})
		case "exit_after_auth":
			d.boolean(&c.ExitAfterAuth)(v)
		case "pid_file":
			d.str(&c.PidFile)(v)
		default:
			if ignored[k] {
				d.warn("%s: accepted and ignored (Tresor's agent does not implement it)", k)
			} else {
				d.warn("%s: unknown stanza, ignored", k)
			}
		}
	}
}

func (d *decoder) vault(v *VaultConfig, b map[string]any) {
	d.fields("vault", b, map[string]func(any){
		"address":         d.str(&v.Address),
		"ca_cert":         d.str(&v.CACert),
		"ca_path":         d.str(&v.CAPath),
		"client_cert":     d.str(&v.ClientCert),
		"client_key":      d.str(&v.ClientKey),
		"tls_skip_verify": d.boolean(&v.TLSSkipVerify),
		"retry": func(x any) {
			d.fields("vault.retry", d.one("retry", x), map[string]func(any){
				"num_retries": d.integer(&v.NumRetries),
			})
		},
	})
}

func (d *decoder) autoAuth(b map[string]any) *AutoAuthConfig {
	a := &AutoAuthConfig{}
	d.fields("auto_auth", b, map[string]func(any){
		"method": func(x any) {
			ms := d.labeledOrTyped("method", x)
			if len(ms) != 1 {
				d.fail("auto_auth: exactly one method is required, found %d", len(ms))
				return
			}
			a.Method.Type = ms[0].label
			d.fields("method", ms[0].body, map[string]func(any){
				"type":       func(any) {},
				"mount_path": d.str(&a.Method.MountPath),
				"namespace":  func(any) {},
				"config": func(x any) {
					a.Method.Config = d.one("config", x)
				},
			})
		},
		"sink": func(x any) {
			for _, s := range d.labeledOrTyped("sink", x) {
				sc := SinkConfig{Type: s.label}
				d.fields("sink", s.body, map[string]func(any){
					"type": func(any) {},
					"config": func(x any) {
						d.fields("sink.config", d.one("config", x), map[string]func(any){
							"path": d.str(&sc.Path),
							"mode": d.mode(&sc.Mode),
						})
					},
				})
				a.Sinks = append(a.Sinks, sc)
			}
		},
	})
	return a
}

func (d *decoder) template(b map[string]any) TemplateConfig {
	var t TemplateConfig
	d.fields("template", b, map[string]func(any){
		"source":               d.str(&t.Source),
		"contents":             d.str(&t.Contents),
		"destination":          d.str(&t.Destination),
		"perms":                d.mode(&t.Perms),
		"command":              d.command(&t.Command),
		"error_on_missing_key": d.boolean(&t.ErrorOnMissingKey),
		"left_delimiter":       d.str(&t.LeftDelim),
		"right_delimiter":      d.str(&t.RightDelim),
		"create_dest_dirs":     func(any) {},
	})
	return t
}

func (d *decoder) templateOptions(o *TemplateOptions, b map[string]any) {
	d.fields("template_config", b, map[string]func(any){
		"static_secret_render_interval": d.duration(&o.StaticSecretRenderInterval),
		"exit_on_retry_failure":         d.boolean(&o.ExitOnRetryFailure),
	})
}

// fields applies set[k] to each key of b, warning about unknown keys.
func (d *decoder) fields(where string, b map[string]any, set map[string]func(any)) {
	for _, k := range sortedKeys(b) {
		if f, ok := set[k]; ok {
			d.at = where + "." + k
			f(b[k])
		} else {
			d.warn("%s: unknown key %q, ignored", where, k)
		}
	}
}

// blocks flattens a stanza's value into its bodies.
func (d *decoder) blocks(where string, v any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []map[string]any:
		return v
	case []any:
		var out []map[string]any
		for _, x := range v {
			out = append(out, d.blocks(where, x)...)
		}
		return out
	}
	d.fail("%s: want a block, got %T", where, v)
	return nil
}

// one is blocks for a stanza that may appear once (bodies are merged).
func (d *decoder) one(where string, v any) map[string]any {
	out := map[string]any{}
	for _, b := range d.blocks(where, v) {
		for k, x := range b {
			out[k] = x
		}
	}
	return out
}

type labeledBlock struct {
	label string
	body  map[string]any
}

// labeled reads NAME "label" { body } stanzas.
func (d *decoder) labeled(where string, v any) []labeledBlock {
	var out []labeledBlock
	for _, b := range d.blocks(where, v) {
		for _, k := range sortedKeys(b) {
			for _, body := range d.blocks(where+" "+strconv.Quote(k), b[k]) {
				out = append(out, labeledBlock{k, body})
			}
		}
	}
	return out
}

// labeledOrTyped reads both method "approle" { … } and
// method { type = "approle" … }.
func (d *decoder) labeledOrTyped(where string, v any) []labeledBlock {
	var out []labeledBlock
	for _, b := range d.blocks(where, v) {
		if t, ok := b["type"].(string); ok {
			out = append(out, labeledBlock{t, b})
			continue
		}
		out = append(out, d.labeled(where, b)...)
	}
	return out
}

func (d *decoder) str(p *string) func(any) {
	return func(v any) {
		s, ok := v.(string)
		if !ok {
			d.fail("want a string, got %T", v)
		}
		*p = s
	}
}

func (d *decoder) boolean(p *bool) func(any) {
	return func(v any) {
		b, err := parse.Bool(v)
		if err != nil {
			d.fail("want a boolean, got %v", v)
		}
		*p = b
	}
}

func (d *decoder) integer(p *int) func(any) {
	return func(v any) {
		switch v := v.(type) {
		case int:
			*p = v
		case float64:
			*p = int(v)
		case string:
			n, err := strconv.Atoi(v)
			if err != nil {
				d.fail("want an integer, got %q", v)
			}
			*p = n
		default:
			d.fail("want an integer, got %T", v)
		}
	}
}

// mode takes 0640 (HCL reads it as octal), 416 (JSON) or "0640".
func (d *decoder) mode(p *os.FileMode) func(any) {
	return func(v any) {
		var n int64
		switch v := v.(type) {
		case int:
			n = int64(v)
		case float64:
			n = int64(v)
		case string:
			var err error
			if n, err = strconv.ParseInt(v, 8, 32); err != nil {
				d.fail("want an octal file mode, got %q", v)
			}
		default:
			d.fail("want a file mode, got %T", v)
		}
		if n < 0 || n > 0o777 {
			d.fail("file mode %o out of range", n)
			return
		}
		*p = os.FileMode(n)
	}
}

// duration reads durations with the server's rules (package parse): "5m",
// "1d" or a number of seconds, never negative.
func (d *decoder) duration(p *time.Duration) func(any) {
	return func(v any) {
		dur, err := parse.NonNegativeDuration(v)
		if err != nil {
			d.fail("want a duration, got %v: %v", v, err)
		}
		*p = dur
	}
}

// command takes a list (run as is) or a string (run through sh -c).
func (d *decoder) command(p *[]string) func(any) {
	return func(v any) {
		switch v := v.(type) {
		case string:
			if strings.TrimSpace(v) != "" {
				*p = []string{"/bin/sh", "-c", v}
			}
		case []any:
			for _, x := range v {
				s, ok := x.(string)
				if !ok {
					d.fail("command: want strings, got %T", x)
					return
				}
				*p = append(*p, s)
			}
		default:
			d.fail("command: want a string or a list, got %T", v)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
