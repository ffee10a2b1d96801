package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
)

// listenerKeys maps each implemented listener setting to the code storing
// it.
var listenerKeys = map[string]func(l *Listener, v any) error{
	"address":                            func(l *Listener, v any) (err error) { l.Address, err = asString(v); return err },
	"cluster_address":                    func(l *Listener, v any) (err error) { l.ClusterAddress, err = asString(v); return err },
	"tls_disable":                        func(l *Listener, v any) (err error) { l.TLSDisable, err = asBool(v); return err },
	"tls_cert_file":                      func(l *Listener, v any) (err error) { l.TLSCertFile, err = asString(v); return err },
	"tls_key_file":                       func(l *Listener, v any) (err error) { l.TLSKeyFile, err = asString(v); return err },
	"tls_client_ca_file":                 func(l *Listener, v any) (err error) { l.TLSClientCAFile, err = asString(v); return err },
	"tls_min_version":                    func(l *Listener, v any) (err error) { l.TLSMinVersion, err = asTLSVersion(v); return err },
	"tls_max_version":                    func(l *Listener, v any) (err error) { l.TLSMaxVersion, err = asTLSVersion(v); return err },
	"tls_require_and_verify_client_cert": func(l *Listener, v any) (err error) { l.TLSRequireAndVerifyClientCert, err = asBool(v); return err },
	"tls_disable_client_certs":           func(l *Listener, v any) (err error) { l.TLSDisableClientCerts, err = asBool(v); return err },
	"max_request_size":                   func(l *Listener, v any) (err error) { l.MaxRequestSize, err = asInt(v); return err },
	"disable_unauthed_rekey_endpoints": func(l *Listener, v any) error {
		off, err := asBool(v)
		l.UnauthedRekey = !off
		return err
	},
	"disable_unauthed_generate_root_endpoints": func(l *Listener, v any) error {
		off, err := asBool(v)
		l.UnauthedGenerateRoot = !off
		return err
	},
}

// listeners reads a listener stanza, which may declare several listeners.
func (d *decoder) listeners(it *ast.ObjectItem) error {
	blocks, err := d.blocks(it, "listener")
	if err != nil {
		return err
	}
	for _, b := range blocks {
		l, err := d.listener(b)
		if err != nil {
			return err
		}
		d.cfg.Listeners = append(d.cfg.Listeners, l)
	}
	return nil
}

// listener reads one listener "TYPE" { ... } block.
func (d *decoder) listener(b block) (Listener, error) {
	switch strings.ToLower(b.label) {
	case "tcp":
	case "unix":
		return Listener{}, fmt.Errorf("%s: listener %q: %w; use a tcp listener", at(d.name, b.pos), b.label, ErrUnsupported)
	default:
		return Listener{}, d.invalid(b.pos, "listener", errors.New(`unknown listener type, want "tcp"`))
	}
	l := Listener{Type: "tcp", at: at(d.name, b.pos)}
	seen := make(map[string]bool)
	declared := make(map[string]bool)
	for _, it := range b.body.Items {
		if len(it.Keys) == 0 {
			return Listener{}, fmt.Errorf("%s: %w: item without a key", at(d.name, it.Val.Pos()), ErrSyntax)
		}
		key, err := d.keyName(it.Keys[0])
		if err != nil {
			return Listener{}, err
		}
		lk := strings.ToLower(key)
		switch {
		case lk == "telemetry":
			err = d.listenerTelemetry(it, key, &l, declared)
		case lk == "custom_response_headers":
			err = d.customHeaders(it, key, &l)
		case listenerKeys[lk] != nil:
			err = d.set(it, key, seen, func(v any) error { return listenerKeys[lk](&l, v) })
		case unsupportedListener[lk]:
			d.warn(it.Keys[0].Pos(), "listener %q: %q is not supported yet and is ignored", b.label, key)
		default:
			err = fmt.Errorf("%s: %w %q in listener", at(d.name, it.Keys[0].Pos()), ErrUnknownKey, key)
		}
		if err != nil {
			return Listener{}, err
		}
	}
	l.applyDefaults()
	if lo, hi := l.TLSVersions(); lo > hi {
		return Listener{}, d.invalid(b.pos, "tls_min_version", errors.New("higher than tls_max_version"))
	}
	return l, nil
}

// customHeaders reads custom_response_headers { "default" = { "Name" =
// ["v1", "v2"] }, "2xx" = {...}, "404" = {...} }, as Vault's listener has
// it. Headers the server itself sets (X-Vault-*) are refused with a
// warning, as Vault does.
func (d *decoder) customHeaders(it *ast.ObjectItem, key string, l *Listener) error {
	pos := it.Keys[0].Pos()
	v, err := toAny(it.Val)
	if err != nil {
		return d.invalid(pos, key, err)
	}
	byStatus, ok := v.(map[string]any)
	if !ok {
		return d.invalid(pos, key, errors.New("want a block of status codes"))
	}
	out := make(map[string]map[string]string, len(byStatus))
	for status, hv := range byStatus {
		if !validStatusKey(status) {
			return d.invalid(pos, key, fmt.Errorf("invalid status code %q: want \"default\", a class such as \"2xx\" or a code from 100 to 599", status))
		}
		headers := make(map[string]string)
		for _, obj := range objects(hv) {
			for name, val := range obj {
				if strings.HasPrefix(strings.ToLower(name), "x-vault-") {
					d.warn(pos, "custom response header %q is refused: X-Vault- headers are the server's own", name)
					continue
				}
				values, err := stringValues(val)
				if err != nil {
					return d.invalid(pos, key, fmt.Errorf("header %q: %w", name, err))
				}
				headers[name] = strings.Join(values, "; ")
			}
		}
		out[status] = headers
	}
	l.CustomResponseHeaders = out
	return nil
}

// validStatusKey accepts "default", "1xx"…"5xx" and codes 100–599.
func validStatusKey(s string) bool {
	if s == "default" {
		return true
	}
	if len(s) != 3 || s[0] < '1' || s[0] > '5' {
		return false
	}
	if s[1:] == "xx" {
		return true
	}
	return s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
}

// objects flattens a decoded block value: one object, or a list of them
// (HCL's repeated blocks).
func objects(v any) []map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return []map[string]any{x}
	case []any:
		var out []map[string]any
		for _, e := range x {
			out = append(out, objects(e)...)
		}
		return out
	}
	return nil
}

// stringValues reads a header's value: a string or a list of strings.
func stringValues(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("want a string or a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errors.New("want a string or a list of strings")
}
