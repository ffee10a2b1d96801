package logical

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind classifies an error a client may see. Each kind maps to exactly one
// HTTP status, in one place (httpapi).
type Kind int

// The kinds of client-visible error.
const (
	KindInternal             Kind = iota // 500, text never shown
	KindInvalidRequest                   // 400
	KindPermissionDenied                 // 403
	KindNotFound                         // 404
	KindUnsupported                      // 405
	KindTooLarge                         // 413
	KindRateLimited                      // 429
	KindSealed                           // 503
	KindUnavailable                      // 503
	KindNotInitialized                   // 400 on most paths
	KindUnsupportedMediaType             // 415
)

// Error is an error whose messages are safe to show a client. Its text must
// never contain secret material.
type Error struct {
	Kind     Kind
	Messages []string
	// RetryAfter tells a rate-limited client when to come back.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if len(e.Messages) == 0 {
		return http.StatusText(e.Status())
	}
	return e.Messages[0]
}

// Status is the HTTP status code of the error.
func (e *Error) Status() int {
	switch e.Kind {
	case KindInvalidRequest, KindNotInitialized:
		return http.StatusBadRequest
	case KindPermissionDenied:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindUnsupported:
		return http.StatusMethodNotAllowed
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case KindRateLimited:
		return http.StatusTooManyRequests
	case KindSealed, KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Sentinel errors with Vault's exact wording.
var (
	ErrPermissionDenied = &Error{Kind: KindPermissionDenied, Messages: []string{"permission denied"}}
	ErrSealed           = &Error{Kind: KindSealed, Messages: []string{"Vault is sealed"}}
	ErrNotInitialized   = &Error{Kind: KindNotInitialized, Messages: []string{"Vault is not initialized"}}
	ErrNotFound         = &Error{Kind: KindNotFound}
	ErrUnsupportedPath  = &Error{Kind: KindNotFound, Messages: []string{"unsupported path"}}
)

// InvalidRequest returns a 400 error with a formatted, client-safe message.
func InvalidRequest(format string, args ...any) error {
	return &Error{Kind: KindInvalidRequest, Messages: []string{fmt.Sprintf(format, args...)}}
}

// ErrUnsupportedOperation is the 405 error Vault gives for an operation a
// path does not support.
var ErrUnsupportedOperation = &Error{Kind: KindUnsupported, Messages: []string{"1 error occurred:\n\t* unsupported operation\n\n"}}

// AsError returns the client-visible error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
