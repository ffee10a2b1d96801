package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/randid"
)

// envelope is Vault's response body for logical requests.
type envelope struct {
	RequestID     string            `json:"request_id"`
	LeaseID       string            `json:"lease_id"`
	Renewable     bool              `json:"renewable"`
	LeaseDuration int               `json:"lease_duration"`
	Data          map[string]any    `json:"data"`
	WrapInfo      *logical.WrapInfo `json:"wrap_info"`
	Warnings      []string          `json:"warnings"`
	Auth          *logical.Auth     `json:"auth"`
	MountType     string            `json:"mount_type"`
}

func respondLogical(w http.ResponseWriter, req *logical.Request, resp *logical.Response) {
	if resp != nil && resp.RawBody != nil {
		w.Header().Set("Content-Type", resp.RawContentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(resp.RawBody)
		return
	}
	empty := resp == nil || (resp.Data == nil && resp.Auth == nil && resp.Secret == nil && resp.WrapInfo == nil && len(resp.Warnings) == 0 && resp.Raw == nil)
	if empty && (resp == nil || resp.StatusCode == 0) && (req.Operation == logical.ReadOperation || req.Operation == logical.ListOperation) {
		// A read of nothing is Vault's 404 with an empty error list.
		writeErrors(w, http.StatusNotFound, []string{})
		return
	}
	if empty {
		status := http.StatusNoContent
		if resp != nil && resp.StatusCode != 0 {
			status = resp.StatusCode
		}
		w.WriteHeader(status)
		return
	}
	if req.Operation == logical.ListOperation && resp.Raw == nil && resp.WrapInfo == nil && resp.StatusCode == 0 && noKeys(resp.Data) {
		// So is a list without keys.
		writeErrors(w, http.StatusNotFound, []string{})
		return
	}
	status := http.StatusOK
	if resp.StatusCode != 0 {
		status = resp.StatusCode
	}
	if resp.Raw != nil {
		writeJSON(w, status, resp.Raw)
		return
	}
	env := envelope{
		RequestID: req.ID,
		Data:      resp.Data,
		WrapInfo:  resp.WrapInfo,
		Warnings:  resp.Warnings,
		Auth:      resp.Auth,
		MountType: resp.MountType,
	}
	if s := resp.Secret; s != nil {
		env.LeaseID = s.LeaseID
		env.Renewable = s.Renewable
		env.LeaseDuration = int(s.TTL / time.Second)
	}
	if resp.Data == nil || !copiesDataToTop(req.Path) {
		writeEnvelope(w, status, &env)
		return
	}
	// Vault repeats the data of a few old sys/ endpoints at the top level,
	// and old clients read it there; the envelope's own keys win.
	top := make(map[string]any, len(resp.Data)+9)
	for k, v := range resp.Data {
		top[k] = v
	}
	top["request_id"] = env.RequestID
	top["lease_id"] = env.LeaseID
	top["renewable"] = env.Renewable
	top["lease_duration"] = env.LeaseDuration
	top["data"] = env.Data
	top["wrap_info"] = env.WrapInfo
	top["warnings"] = env.Warnings
	top["auth"] = env.Auth
	top["mount_type"] = env.MountType
	writeJSON(w, status, top)
}

// noKeys reports whether a list answer's data holds no keys.
func noKeys(data map[string]any) bool {
	switch k := data["keys"].(type) {
	case []string:
		return len(k) == 0
	case []any:
		return len(k) == 0
	case nil:
		return true
	}
	return false
}

// Vault copies a response's data to the top level for the sys/ endpoints
// that predate the envelope's data field, and for no others: a response
// built from caller-controlled data (an unwrapped secret, a KV read) must
// never gain top-level keys such as "errors".
var (
	dataToTopExact = map[string]bool{
		"sys/audit": true, "sys/auth": true, "sys/mounts": true, "sys/policy": true,
		"sys/capabilities": true, "sys/capabilities-accessor": true, "sys/capabilities-self": true,
		"sys/config/cors": true, "sys/config/auditing/request-headers": true,
		"sys/ha-status": true, "sys/key-status": true, "sys/remount": true, "sys/rotate": true,
		"sys/rekey/backup": true, "sys/rekey/recovery-key-backup": true, "sys/wrapping/wrap": true,
	}
	dataToTopPrefixes = []string{
		"sys/audit/", "sys/audit-hash/", "sys/auth/", "sys/mounts/", "sys/policy/",
		"sys/config/auditing/request-headers/",
	}
)

// copiesDataToTop reports whether the response to path repeats its data
// at the top level.
func copiesDataToTop(path string) bool {
	if dataToTopExact[strings.TrimSuffix(path, "/")] {
		return true
	}
	for _, p := range dataToTopPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// RespondError writes err as Vault's {"errors":[...]} envelope, with the
// status its kind maps to. It serves the few handlers outside this package
// that answer HTTP themselves (the HA side of the server: the cluster
// port's forwarding and the Raft join handshake), so that there is still
// one place where errors become statuses. An error that is not a
// *logical.Error is logged and answered as a bare 500 with a new request
// ID.
func RespondError(w http.ResponseWriter, logger *slog.Logger, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	respondError(w, logger, randid.UUID(), err)
}

// respondError is the one place where errors become HTTP statuses. Only
// *logical.Error text reaches the client; anything else is logged with the
// request ID and answered as a bare 500.
func respondError(w http.ResponseWriter, logger *slog.Logger, reqID string, err error) {
	if e, ok := logical.AsError(err); ok && e.Kind != logical.KindInternal {
		msgs := e.Messages
		if msgs == nil {
			msgs = []string{}
		}
		if e.Kind == logical.KindRateLimited {
			secs := int((e.RetryAfter + time.Second - 1) / time.Second)
			if secs < 1 {
				secs = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		writeErrors(w, e.Status(), msgs)
		return
	}
	logger.Error("internal error", "request_id", reqID, "error", err)
	writeErrors(w, http.StatusInternalServerError, []string{"internal error, request id " + reqID})
}

func writeErrors(w http.ResponseWriter, status int, msgs []string) {
	writeJSON(w, status, map[string][]string{"errors": msgs})
}

// writeJSON writes v as encoding/json encodes it, and a newline, through a
// pooled buffer: a response costs no buffer of its size.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := getBuffer()
	defer putBuffer(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil { // Encode ends with the newline
		writeEncodingError(w)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeEncodingError(w http.ResponseWriter) {
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte(`{"errors":["internal error encoding response"]}`))
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer {
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	return buf
}

// putBuffer returns buf to the pool unless it grew large: one huge
// response must not pin its buffer for the life of the process.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<10 {
		buffers.Put(buf)
	}
}

// jsonAppender is a response value that writes its own JSON, the same
// bytes encoding/json writes for it (transit's batch results): the
// envelope appends it straight into the response buffer, without
// reflection and without the copy and check encoding/json makes of a
// MarshalJSON result.
type jsonAppender interface {
	AppendJSON(b []byte) []byte
}

// writeEnvelope writes env exactly as writeJSON does, letting the values
// of its data that are jsonAppenders write themselves and writing the
// common dynamic shapes without reflection (appendJSONValue).
func writeEnvelope(w http.ResponseWriter, status int, env *envelope) {
	buf := getBuffer()
	defer putBuffer(buf)
	var enc *json.Encoder
	value := func(v any) error {
		if a, ok := v.(jsonAppender); ok {
			buf.Write(a.AppendJSON(buf.AvailableBuffer()))
			return nil
		}
		if b, ok := appendJSONValue(buf.AvailableBuffer(), v); ok {
			buf.Write(b)
			return nil
		}
		if enc == nil {
			enc = json.NewEncoder(buf)
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		return nil
	}
	keys := make([]string, 0, len(env.Data))
	for k := range env.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	buf.WriteString(`{"request_id":`)
	err := value(env.RequestID)
	buf.WriteString(`,"lease_id":`)
	err = errors.Join(err, value(env.LeaseID))
	buf.WriteString(`,"renewable":`)
	buf.Write(strconv.AppendBool(buf.AvailableBuffer(), env.Renewable))
	buf.WriteString(`,"lease_duration":`)
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(env.LeaseDuration), 10))
	if env.Data == nil {
		buf.WriteString(`,"data":null`)
	} else {
		buf.WriteString(`,"data":{`)
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			err = errors.Join(err, value(k))
			buf.WriteByte(':')
			err = errors.Join(err, value(env.Data[k]))
		}
		buf.WriteString("}")
	}
	buf.WriteString(`,"wrap_info":`)
	if env.WrapInfo == nil {
		buf.WriteString("null")
	} else {
		err = errors.Join(err, value(env.WrapInfo))
	}
	buf.WriteString(`,"warnings":`)
	err = errors.Join(err, value(env.Warnings))
	buf.WriteString(`,"auth":`)
	if env.Auth == nil {
		buf.WriteString("null")
	} else {
		err = errors.Join(err, value(env.Auth))
	}
	buf.WriteString(`,"mount_type":`)
	err = errors.Join(err, value(env.MountType))
	buf.WriteString("}\n")
	if err != nil {
		writeEncodingError(w)
		return
	}
	// The length is known: a large body (a batch's results) goes out
	// with it instead of in chunks, which costs a write less.
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
