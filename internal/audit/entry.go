package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// The JSON shape of an entry, field for field Vault's.
type entry struct {
	Time     string         `json:"time"`
	Type     EntryType      `json:"type"`
	Auth     *entryAuth     `json:"auth,omitempty"`
	Request  *entryRequest  `json:"request,omitempty"`
	Response *entryResponse `json:"response,omitempty"`
	Error    string         `json:"error,omitempty"`
}

type entryAuth struct {
	ClientToken    string            `json:"client_token,omitempty"`
	Accessor       string            `json:"accessor,omitempty"`
	DisplayName    string            `json:"display_name,omitempty"`
	Policies       []string          `json:"policies,omitempty"`
	TokenPolicies  []string          `json:"token_policies,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	NumUses        int               `json:"num_uses,omitempty"`
	RemainingUses  int               `json:"remaining_uses,omitempty"`
	EntityID       string            `json:"entity_id,omitempty"`
	TokenType      string            `json:"token_type,omitempty"`
	TokenTTL       int64             `json:"token_ttl,omitempty"`
	TokenIssueTime string            `json:"token_issue_time,omitempty"`
}

type entryNamespace struct {
	ID string `json:"id"`
}

// rootNamespace is the only namespace Tresor has.
var rootNamespace = entryNamespace{ID: "root"}

type entryRequest struct {
	ID                  string              `json:"id,omitempty"`
	Operation           logical.Operation   `json:"operation,omitempty"`
	MountPoint          string              `json:"mount_point,omitempty"`
	MountType           string              `json:"mount_type,omitempty"`
	MountAccessor       string              `json:"mount_accessor,omitempty"`
	ClientToken         string              `json:"client_token,omitempty"`
	ClientTokenAccessor string              `json:"client_token_accessor,omitempty"`
	Namespace           entryNamespace      `json:"namespace"`
	Path                string              `json:"path,omitempty"`
	Data                map[string]any      `json:"data,omitempty"`
	RemoteAddress       string              `json:"remote_address,omitempty"`
	RemotePort          int                 `json:"remote_port,omitempty"`
	WrapTTL             int                 `json:"wrap_ttl,omitempty"`
	Headers             map[string][]string `json:"headers,omitempty"`

	// keep lists the top-level keys of Data left clear when the encoder
	// hashes Data as it writes it.
	keep []string
}

type entryResponse struct {
	MountPoint    string         `json:"mount_point,omitempty"`
	MountType     string         `json:"mount_type,omitempty"`
	MountAccessor string         `json:"mount_accessor,omitempty"`
	Auth          *entryAuth     `json:"auth,omitempty"`
	Secret        *entrySecret   `json:"secret,omitempty"`
	Data          map[string]any `json:"data,omitempty"`
	Warnings      []string       `json:"warnings,omitempty"`
	WrapInfo      *entryWrapInfo `json:"wrap_info,omitempty"`

	keep []string // as in entryRequest
}

type entrySecret struct {
	LeaseID string `json:"lease_id"`
}

type entryWrapInfo struct {
	TTL             int    `json:"ttl"`
	Token           string `json:"token"`
	Accessor        string `json:"accessor,omitempty"`
	CreationTime    string `json:"creation_time"`
	CreationPath    string `json:"creation_path"`
	WrappedAccessor string `json:"wrapped_accessor,omitempty"`
}

// entryParts holds an entry and every block it may point to, so that an
// entry costs one allocation, or none when its encoder is pooled.
type entryParts struct {
	entry    entry
	auth     entryAuth
	request  entryRequest
	response entryResponse
	respAuth entryAuth
	secret   entrySecret
	wrapInfo entryWrapInfo
}

// formatter turns an Input into one line of a device's log.
type formatter struct {
	hasher       *hasher
	raw          bool // log_raw: hash nothing
	hmacAccessor bool
	prefix       string
	jsonx        bool
}

// format appends the line for in (prefix, entry, newline) to enc.buf.
// The json format is written by the encoder, which hashes data as it goes;
// jsonx renders the encoding/json form of the entry.
func (f *formatter) format(enc *encoder, typ EntryType, at time.Time, in *Input) error {
	if f.jsonx {
		var buf bytes.Buffer
		if err := f.formatStd(&buf, typ, at, in); err != nil {
			return err
		}
		enc.buf = append(enc.buf, buf.Bytes()...)
		return nil
	}
	e, err := f.entry(&enc.parts, typ, at, in, false)
	if err != nil {
		return fmt.Errorf("audit: format %s entry: %w", typ, err)
	}
	enc.h = f.hasher
	b := append(enc.buf, f.prefix...)
	b, err = enc.appendEntry(b, e, !f.raw)
	enc.buf = b
	if err != nil {
		return fmt.Errorf("audit: encode %s entry: %w", typ, err)
	}
	enc.buf = append(enc.buf, '\n')
	return nil
}

// formatStd is format through encoding/json, with a hashed copy of the
// data: the reference the encoder is tested against, and the input of
// jsonx.
func (f *formatter) formatStd(buf *bytes.Buffer, typ EntryType, at time.Time, in *Input) error {
	e, err := f.entry(new(entryParts), typ, at, in, true)
	if err != nil {
		return fmt.Errorf("audit: format %s entry: %w", typ, err)
	}
	buf.WriteString(f.prefix)
	if f.jsonx {
		js, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("audit: encode %s entry: %w", typ, err)
		}
		if err := writeJSONx(buf, js); err != nil {
			return fmt.Errorf("audit: encode %s entry as jsonx: %w", typ, err)
		}
		buf.WriteByte('\n')
		return nil
	}
	enc := json.NewEncoder(buf) // Encode ends the line with '\n'
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return fmt.Errorf("audit: encode %s entry: %w", typ, err)
	}
	return nil
}

// entry fills p for in and returns its entry. With hashData, request and
// response data are hashed copies; without, they are the caller's maps,
// for the encoder to hash as it writes them (see entryRequest.keep), and
// the entry must then never reach encoding/json.
func (f *formatter) entry(p *entryParts, typ EntryType, at time.Time, in *Input, hashData bool) (*entry, error) {
	e := &p.entry
	*e = entry{Time: at.UTC().Format(time.RFC3339Nano), Type: typ}
	var m memo
	if in.Err != nil {
		e.Error = errorText(in.Err)
	}
	switch {
	case in.Auth != nil:
		e.Auth = f.auth(&p.auth, &m, in.Auth)
	case in.Request != nil && in.Request.Token != nil:
		// The core authenticated the caller but gave no AuthInfo: say
		// what the request knows (it never carries the token ID).
		tok := in.Request.Token
		e.Auth = f.auth(&p.auth, &m, &AuthInfo{
			Accessor: tok.Accessor, DisplayName: tok.DisplayName, Policies: tok.Policies,
			TokenPolicies: tok.Policies, Metadata: tok.Meta, EntityID: tok.EntityID,
		})
	}
	if in.Request != nil {
		r, err := f.request(p, &m, in, hashData)
		if err != nil {
			return nil, err
		}
		e.Request = r
	}
	if typ == TypeResponse && in.Response != nil {
		r, err := f.response(p, in, hashData)
		if err != nil {
			return nil, err
		}
		e.Response = r
	}
	return e, nil
}

// memo remembers the last two values hashed for one entry: its client
// token and accessor appear in both the auth and the request blocks, and
// each HMAC costs a microsecond.
type memo struct {
	in, out [2]string
	next    int
}

func (f *formatter) memoSecret(m *memo, s string) string {
	if f.raw || s == "" {
		return s
	}
	for i := range m.in {
		if m.in[i] == s {
			return m.out[i]
		}
	}
	h := f.hasher.hash(s)
	m.in[m.next], m.out[m.next] = s, h
	m.next = (m.next + 1) % len(m.in)
	return h
}

func (f *formatter) memoAccessor(m *memo, s string) string {
	if !f.hmacAccessor {
		return s
	}
	return f.memoSecret(m, s)
}

// secret hashes a token-like value unless the device logs raw.
func (f *formatter) secret(s string) string {
	if f.raw || s == "" {
		return s
	}
	return f.hasher.hash(s)
}

// accessor hashes an accessor unless log_raw or hmac_accessor=false.
func (f *formatter) accessor(s string) string {
	if !f.hmacAccessor {
		return s
	}
	return f.secret(s)
}

func (f *formatter) data(m map[string]any, keep []string, hashData bool) (map[string]any, error) {
	if f.raw || !hashData {
		return m, nil
	}
	return f.hasher.data(m, keep)
}

func (f *formatter) auth(out *entryAuth, m *memo, a *AuthInfo) *entryAuth {
	*out = entryAuth{
		ClientToken:   f.memoSecret(m, a.ClientToken),
		Accessor:      f.memoAccessor(m, a.Accessor),
		DisplayName:   a.DisplayName,
		Policies:      a.Policies,
		TokenPolicies: a.TokenPolicies,
		Metadata:      a.Metadata,
		RemainingUses: a.RemainingUses,
		EntityID:      a.EntityID,
		TokenType:     a.TokenType,
		TokenTTL:      int64(a.TokenTTL / time.Second),
	}
	if !a.TokenIssueTime.IsZero() {
		out.TokenIssueTime = a.TokenIssueTime.UTC().Format(time.RFC3339)
	}
	return out
}

func (f *formatter) request(p *entryParts, m *memo, in *Input, hashData bool) (*entryRequest, error) {
	req := in.Request
	data, err := f.data(req.Data, in.NonHMACRequestKeys, hashData)
	if err != nil {
		return nil, fmt.Errorf("request data: %w", err)
	}
	out := &p.request
	*out = entryRequest{
		ID:            req.ID,
		Operation:     req.Operation,
		MountPoint:    req.MountPoint,
		MountType:     req.MountType,
		MountAccessor: req.MountAccessor,
		ClientToken:   f.memoSecret(m, req.ClientToken),
		Namespace:     rootNamespace,
		Path:          req.Path,
		Data:          data,
		WrapTTL:       int(req.WrapTTL / time.Second),
		Headers:       f.headers(req.Headers, in.AuditedHeaders),
		keep:          in.NonHMACRequestKeys,
	}
	switch {
	case in.Auth != nil:
		out.ClientTokenAccessor = f.memoAccessor(m, in.Auth.Accessor)
	case req.Token != nil:
		out.ClientTokenAccessor = f.memoAccessor(m, req.Token.Accessor)
	}
	if req.Connection != nil {
		out.RemoteAddress, out.RemotePort = splitAddr(req.Connection.RemoteAddr)
	}
	return out, nil
}

// headers keeps the audited headers only, hashed where configured.
func (f *formatter) headers(h map[string][]string, audited map[string]bool) map[string][]string {
	if len(h) == 0 || len(audited) == 0 {
		return nil
	}
	var out map[string][]string
	for name, values := range h {
		lower := strings.ToLower(name)
		hmacd, ok := audited[lower]
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string][]string, len(audited))
		}
		if hmacd && !f.raw {
			values = f.hasher.strings(values)
		}
		out[lower] = values
	}
	return out
}

func (f *formatter) response(p *entryParts, in *Input, hashData bool) (*entryResponse, error) {
	resp := in.Response
	data := resp.Data
	if data == nil && resp.Raw != nil {
		// Raw bodies are recorded like Vault's http_raw_body.
		data = map[string]any{"http_raw_body": resp.Raw}
	}
	data, err := f.data(data, in.NonHMACResponseKeys, hashData)
	if err != nil {
		return nil, fmt.Errorf("response data: %w", err)
	}
	out := &p.response
	*out = entryResponse{
		Data:     data,
		Warnings: resp.Warnings,
		keep:     in.NonHMACResponseKeys,
	}
	if req := in.Request; req != nil {
		out.MountPoint, out.MountType, out.MountAccessor = req.MountPoint, req.MountType, req.MountAccessor
	}
	if a := resp.Auth; a != nil {
		out.Auth = &p.respAuth
		*out.Auth = entryAuth{
			ClientToken:   f.secret(a.ClientToken),
			Accessor:      f.accessor(a.Accessor),
			DisplayName:   a.DisplayName,
			Policies:      a.Policies,
			TokenPolicies: a.TokenPolicies,
			Metadata:      a.Metadata,
			NumUses:       a.NumUses,
			EntityID:      a.EntityID,
			TokenType:     a.TokenType,
			TokenTTL:      int64(a.TTL / time.Second),
		}
		if out.Auth.TokenTTL == 0 {
			out.Auth.TokenTTL = int64(a.LeaseDuration)
		}
	}
	if s := resp.Secret; s != nil {
		p.secret = entrySecret{LeaseID: f.secret(s.LeaseID)}
		out.Secret = &p.secret
	}
	if w := resp.WrapInfo; w != nil {
		out.WrapInfo = &p.wrapInfo
		*out.WrapInfo = entryWrapInfo{
			TTL:             w.TTL,
			Token:           f.secret(w.Token),
			Accessor:        f.accessor(w.Accessor),
			CreationPath:    w.CreationPath,
			WrappedAccessor: f.accessor(w.WrappedAccessor),
		}
		if !w.CreationTime.IsZero() {
			out.WrapInfo.CreationTime = w.CreationTime.UTC().Format(time.RFC3339Nano)
		}
	}
	return out, nil
}

// errorText is the "error" of an entry: the client-visible message for
// client errors ("permission denied"), the error itself otherwise.
func errorText(err error) string {
	if e, ok := logical.AsError(err); ok {
		return e.Error()
	}
	return err.Error()
}

// splitAddr splits "host:port"; an address without a port is all host.
func splitAddr(addr string) (string, int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return host, 0
	}
	return host, p
}
