package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tresorhq/tresor/internal/parse"
)

// This file reads Portoser's service registry: machines with their
// AppRole, services with the secrets they consume (vault_secrets,
// vault_dynamic, vault_certs) and how to run them. Portoser's keys are
// read unchanged (keys Tresor does not use, such as type or host, are
// ignored); Tresor adds command, restart_command, health_command and
// env_file. Every error names the file and line it belongs to.

// maxRegistrySize bounds the registry file; a larger one is refused.
const maxRegistrySize = 4 << 20

// Registry is a parsed, validated registry file.
type Registry struct {
	File     string
	Machines map[string]*Machine
	Services []*Service // in file order
}

// Machine is one host with its AppRole.
type Machine struct {
	Name                     string
	Line                     int
	Host                     string
	VaultRole                string
	RoleID, SecretID         string
	RoleIDFile, SecretIDFile string
	AppRoleMount             string // Tresor's vault_approle_mount; "approle" unless set
}

// Var is one environment variable of a service and where its value is.
type Var struct {
	Name string
	Path string // as written: with or without KV v2's data/ segment
	Key  string
	Line int
}

// Dynamic is one vault_dynamic entry: credentials read from
// <engine>/creds/<role>, given as <PREFIX>_USERNAME and <PREFIX>_PASSWORD.
type Dynamic struct {
	Engine, Role, EnvPrefix string
	Line                    int
}

// Path is the API path the credentials are read from.
func (d Dynamic) Path() string { return d.Engine + "/creds/" + d.Role }

// Certs is a vault_certs entry: a secret whose cert, key and ca fields are
// written to files.
type Certs struct {
	Path              string
	CertFile, KeyFile string
	CAFile            string // default: <cert_file without extension>-ca<extension>
	Line              int
}

// Service is one service of the registry.
type Service struct {
	Name             string
	Line             int
	Machine          string
	Command          []string
	RestartCommand   []string
	HealthCommand    []string
	EnvFile          string
	Vars             []Var
	Dynamic          []Dynamic
	Certs            *Certs
	AutoRotate       bool
	RotationInterval time.Duration
}

// Paths lists the distinct secret paths the service reads, sorted.
func (s *Service) Paths() []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, v := range s.Vars {
		add(v.Path)
	}
	for _, d := range s.Dynamic {
		add(d.Path())
	}
	if s.Certs != nil {
		add(s.Certs.Path)
	}
	sort.Strings(out)
	return out
}

// DefaultRotationInterval applies to an auto_rotate service that does not
// set rotation_interval (Portoser's documented default is daily).
const DefaultRotationInterval = 24 * time.Hour

// LoadRegistry reads and validates a registry file.
func LoadRegistry(file string) (*Registry, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRegistrySize+1))
	if err != nil {
		return nil, err
	}
	return ParseRegistry(file, b)
}

// registryErrors collects "file:line: message" errors.
type registryErrors struct {
	file string
	errs []error
}

func (e *registryErrors) add(line int, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s:%d: %s", e.file, line, fmt.Sprintf(format, args...)))
}

// ParseRegistry parses a registry's text; file names it in errors. All
// problems found are reported together, one per line.
func ParseRegistry(file string, text []byte) (*Registry, error) {
	if len(text) > maxRegistrySize {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxRegistrySize)
	}
	e := &registryErrors{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		// yaml's messages carry "line N"; put the file in front.
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	reg := &Registry{File: file, Machines: map[string]*Machine{}}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s:1: empty registry (want machines: and services:)", file)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the registry must be a mapping with machines: and services:", file, root.Line)
	}
	var machines, services *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "machines":
			machines = root.Content[i+1]
		case "services":
			services = root.Content[i+1]
		}
	}
	if machines != nil {
		if machines.Kind != yaml.MappingNode && !isNull(machines) {
			e.add(machines.Line, "machines: want a mapping of machine names")
		} else {
			for i := 0; i+1 < len(machines.Content); i += 2 {
				name, body := machines.Content[i], machines.Content[i+1]
				if _, dup := reg.Machines[name.Value]; dup {
					e.add(name.Line, "machine %q defined twice", name.Value)
					continue
				}
				if m := parseMachine(e, name, body); m != nil {
					reg.Machines[m.Name] = m
				}
			}
		}
	}
	if services == nil || isNull(services) {
		e.add(root.Line, "no services:")
	} else if services.Kind != yaml.MappingNode {
		e.add(services.Line, "services: want a mapping of service names")
	} else {
		seen := map[string]bool{}
		for i := 0; i+1 < len(services.Content); i += 2 {
			name, body := services.Content[i], services.Content[i+1]
			if seen[name.Value] {
				e.add(name.Line, "service %q defined twice", name.Value)
				continue
			}
			seen[name.Value] = true
			if s := parseService(e, reg, name, body); s != nil {
				reg.Services = append(reg.Services, s)
			}
		}
	}
	if len(e.errs) > 0 {
		return nil, errors.Join(e.errs...)
	}
	return reg, nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

type machineYAML struct {
	Host              string `yaml:"host"`
	VaultRole         string `yaml:"vault_role"`
	VaultRoleID       string `yaml:"vault_role_id"`
	VaultSecretID     string `yaml:"vault_secret_id"`
	VaultRoleIDFile   string `yaml:"vault_role_id_file"`
	VaultSecretIDFile string `yaml:"vault_secret_id_file"`
	VaultApproleMount string `yaml:"vault_approle_mount"`
}

func parseMachine(e *registryErrors, name, body *yaml.Node) *Machine {
	if name.Value == "" {
		e.add(name.Line, "a machine needs a name")
		return nil
	}
	var y machineYAML
	if !isNull(body) {
		if err := body.Decode(&y); err != nil {
			e.decodeError(body.Line, fmt.Sprintf("machine %q", name.Value), err)
			return nil
		}
	}
	return &Machine{
		Name: name.Value, Line: name.Line, Host: y.Host, VaultRole: y.VaultRole,
		RoleID: y.VaultRoleID, SecretID: y.VaultSecretID,
		RoleIDFile: y.VaultRoleIDFile, SecretIDFile: y.VaultSecretIDFile,
		AppRoleMount: y.VaultApproleMount,
	}
}

// decodeError reports a Decode failure at the line yaml names in it.
func (e *registryErrors) decodeError(line int, prefix string, err error) {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		e.add(line, "%s: %s", prefix, strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	for _, msg := range te.Errors {
		l := line
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if n, tail, ok := strings.Cut(rest, ": "); ok {
				if v, err := strconv.Atoi(n); err == nil {
					l, msg = v, tail
				}
			}
		}
		e.add(l, "%s: %s", prefix, msg)
	}
}

// field returns the value node of key in a mapping node, or nil.
func field(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func lineOf(n *yaml.Node, fallback int) int {
	if n == nil {
		return fallback
	}
	return n.Line
}

type serviceYAML struct {
	Machine        string   `yaml:"machine"`
	Command        []string `yaml:"command"`
	RestartCommand []string `yaml:"restart_command"`
	HealthCommand  []string `yaml:"health_command"`
	EnvFile        string   `yaml:"env_file"`
	AutoRotate     bool     `yaml:"auto_rotate"`
}

func parseService(e *registryErrors, reg *Registry, name, body *yaml.Node) *Service {
	if name.Value == "" {
		e.add(name.Line, "a service needs a name")
		return nil
	}
	if body.Kind != yaml.MappingNode {
		e.add(body.Line, "service %q: want a mapping", name.Value)
		return nil
	}
	var y serviceYAML
	if err := body.Decode(&y); err != nil {
		e.decodeError(body.Line, fmt.Sprintf("service %q", name.Value), err)
		return nil
	}
	s := &Service{
		Name: name.Value, Line: name.Line, Machine: y.Machine,
		Command: y.Command, RestartCommand: y.RestartCommand, HealthCommand: y.HealthCommand,
		EnvFile: y.EnvFile, AutoRotate: y.AutoRotate,
	}
	nerr := len(e.errs)
	switch {
	case s.Machine == "":
		e.add(name.Line, "service %q: no machine:", s.Name)
	case reg.Machines[s.Machine] == nil:
		e.add(lineOf(field(body, "machine"), name.Line), "service %q: unknown machine %q (not under machines:)", s.Name, s.Machine)
	}
	for _, c := range []struct {
		key  string
		argv []string
	}{{"command", s.Command}, {"restart_command", s.RestartCommand}, {"health_command", s.HealthCommand}} {
		if n := field(body, c.key); n != nil && !isNull(n) && (len(c.argv) == 0 || c.argv[0] == "") {
			e.add(n.Line, "service %q: %s: want a non-empty list (argv), such as [\"/opt/app/bin/server\", \"-v\"]", s.Name, c.key)
		}
	}
	if s.EnvFile != "" && !filepath.IsAbs(s.EnvFile) {
		e.add(lineOf(field(body, "env_file"), name.Line), "service %q: env_file must be an absolute path", s.Name)
	}
	if n := field(body, "rotation_interval"); n != nil && !isNull(n) {
		d, err := parse.Duration(n.Value)
		switch {
		case n.Kind != yaml.ScalarNode || err != nil:
			e.add(n.Line, "service %q: rotation_interval %q: want a duration such as \"24h\", \"30m\" or \"7d\"", s.Name, n.Value)
		case d <= 0:
			e.add(n.Line, "service %q: rotation_interval must be positive", s.Name)
		default:
			s.RotationInterval = d
		}
	} else if s.AutoRotate {
		s.RotationInterval = DefaultRotationInterval
	}

	names := map[string]int{} // variable → line where defined
	addVar := func(v Var) {
		if prev, dup := names[v.Name]; dup {
			e.add(v.Line, "service %q: variable %s defined twice (first at line %d)", s.Name, v.Name, prev)
			return
		}
		names[v.Name] = v.Line
		s.Vars = append(s.Vars, v)
	}
	if n := field(body, "vault_secrets"); n != nil && !isNull(n) {
		if n.Kind != yaml.SequenceNode {
			e.add(n.Line, "service %q: vault_secrets: want a list of {path, keys or mapping}", s.Name)
		} else {
			for _, item := range n.Content {
				parseSecretsEntry(e, s, item, addVar)
			}
		}
	}
	if n := field(body, "vault_dynamic"); n != nil && !isNull(n) {
		if n.Kind != yaml.SequenceNode {
			e.add(n.Line, "service %q: vault_dynamic: want a list of {engine, role, env_prefix}", s.Name)
		} else {
			for _, item := range n.Content {
				var d struct {
					Engine    string `yaml:"engine"`
					Role      string `yaml:"role"`
					EnvPrefix string `yaml:"env_prefix"`
				}
				if err := item.Decode(&d); err != nil {
					e.decodeError(item.Line, fmt.Sprintf("service %q: vault_dynamic", s.Name), err)
					continue
				}
				dyn := Dynamic{Engine: strings.Trim(d.Engine, "/"), Role: strings.Trim(d.Role, "/"), EnvPrefix: d.EnvPrefix, Line: item.Line}
				if dyn.Engine == "" {
					dyn.Engine = "database"
				}
				if dyn.Role == "" {
					e.add(item.Line, "service %q: vault_dynamic: no role", s.Name)
					continue
				}
				if dyn.EnvPrefix == "" {
					dyn.EnvPrefix = UpperSnake(dyn.Role)
				}
				if !validEnvName(dyn.EnvPrefix) {
					e.add(lineOf(field(item, "env_prefix"), item.Line), "service %q: vault_dynamic: env_prefix %q is not a valid variable name", s.Name, dyn.EnvPrefix)
					continue
				}
				s.Dynamic = append(s.Dynamic, dyn)
				for _, suffix := range []string{"_USERNAME", "_PASSWORD"} {
					if prev, dup := names[dyn.EnvPrefix+suffix]; dup {
						e.add(item.Line, "service %q: variable %s defined twice (first at line %d)", s.Name, dyn.EnvPrefix+suffix, prev)
					}
					names[dyn.EnvPrefix+suffix] = item.Line
				}
			}
		}
	}
	if n := field(body, "vault_certs"); n != nil && !isNull(n) {
		var c struct {
			Path     string `yaml:"path"`
			CertFile string `yaml:"cert_file"`
			KeyFile  string `yaml:"key_file"`
			CAFile   string `yaml:"ca_file"`
		}
		if err := n.Decode(&c); err != nil {
			e.decodeError(n.Line, fmt.Sprintf("service %q: vault_certs", s.Name), err)
		} else if c.Path == "" || c.CertFile == "" || c.KeyFile == "" {
			e.add(n.Line, "service %q: vault_certs needs path, cert_file and key_file", s.Name)
		} else if !filepath.IsAbs(c.CertFile) || !filepath.IsAbs(c.KeyFile) || (c.CAFile != "" && !filepath.IsAbs(c.CAFile)) {
			e.add(n.Line, "service %q: vault_certs: the files must be absolute paths", s.Name)
		} else {
			if c.CAFile == "" {
				ext := filepath.Ext(c.CertFile)
				c.CAFile = strings.TrimSuffix(c.CertFile, ext) + "-ca" + ext
			}
			s.Certs = &Certs{Path: strings.Trim(c.Path, "/"), CertFile: c.CertFile, KeyFile: c.KeyFile, CAFile: c.CAFile, Line: n.Line}
		}
	}
	if len(e.errs) > nerr {
		return nil
	}
	return s
}

func parseSecretsEntry(e *registryErrors, s *Service, item *yaml.Node, addVar func(Var)) {
	if item.Kind != yaml.MappingNode {
		e.add(item.Line, "service %q: vault_secrets: want {path, keys or mapping}", s.Name)
		return
	}
	pn := field(item, "path")
	if pn == nil || pn.Kind != yaml.ScalarNode || strings.Trim(pn.Value, "/") == "" {
		e.add(item.Line, "service %q: vault_secrets: an entry without path", s.Name)
		return
	}
	p := strings.Trim(pn.Value, "/")
	keys, mapping := field(item, "keys"), field(item, "mapping")
	if (keys == nil || isNull(keys)) && (mapping == nil || isNull(mapping)) {
		e.add(item.Line, "service %q: vault_secrets %s: neither keys nor mapping (say which values to inject)", s.Name, p)
		return
	}
	if keys != nil && !isNull(keys) {
		if keys.Kind != yaml.SequenceNode {
			e.add(keys.Line, "service %q: vault_secrets %s: keys: want a list", s.Name, p)
		} else {
			for _, k := range keys.Content {
				if k.Kind != yaml.ScalarNode || k.Value == "" {
					e.add(k.Line, "service %q: vault_secrets %s: keys: want non-empty names", s.Name, p)
					continue
				}
				name := UpperSnake(k.Value)
				if !validEnvName(name) {
					e.add(k.Line, "service %q: vault_secrets %s: key %q gives no valid variable name", s.Name, p, k.Value)
					continue
				}
				addVar(Var{Name: name, Path: p, Key: k.Value, Line: k.Line})
			}
		}
	}
	if mapping != nil && !isNull(mapping) {
		if mapping.Kind != yaml.MappingNode {
			e.add(mapping.Line, "service %q: vault_secrets %s: mapping: want {key: VARIABLE}", s.Name, p)
			return
		}
		for i := 0; i+1 < len(mapping.Content); i += 2 {
			k, v := mapping.Content[i], mapping.Content[i+1]
			if k.Value == "" || v.Kind != yaml.ScalarNode || !validEnvName(v.Value) {
				e.add(k.Line, "service %q: vault_secrets %s: mapping %q: want a valid variable name", s.Name, p, k.Value)
				continue
			}
			addVar(Var{Name: v.Value, Path: p, Key: k.Value, Line: k.Line})
		}
	}
}

// UpperSnake turns a key into Portoser's variable name: letters upper
// case, anything that is not a letter or digit an underscore
// ("database-url" → "DATABASE_URL").
func UpperSnake(key string) string {
	b := []byte(key)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

// validEnvName accepts POSIX variable names: [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// MachineServices lists the services of machine, in file order.
func (r *Registry) MachineServices(machine string) []*Service {
	var out []*Service
	for _, s := range r.Services {
		if s.Machine == machine {
			out = append(out, s)
		}
	}
	return out
}
