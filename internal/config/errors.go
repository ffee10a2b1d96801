package config

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them and
// carries the file name, and where one is known the line and column, in its
// text.
var (
	// ErrSyntax is returned when a file is not well-formed HCL or JSON.
	ErrSyntax = errors.New("syntax error")

	// ErrUnknownKey is returned for a key Vault's configuration format does
	// not have, typically a typo.
	ErrUnknownKey = errors.New("unknown key")

	// ErrInvalidValue is returned when a known key has a value of the wrong
	// type or out of range: a TTL that is not a duration, a bad boolean, an
	// unknown TLS version or log level.
	ErrInvalidValue = errors.New("invalid value")

	// ErrDuplicateStorage is returned when storage (or its legacy name
	// backend) is declared more than once across all files.
	ErrDuplicateStorage = errors.New("storage may be declared only once")

	// ErrDuplicateAuditPath is returned when two audit stanzas, in the same
	// file or in different ones, declare the same path.
	ErrDuplicateAuditPath = errors.New("audit path may be declared only once")

	// ErrUnsupported is returned for a setting Tresor deliberately does not
	// offer and cannot ignore safely, such as a unix socket listener.
	ErrUnsupported = errors.New("not supported")

	// ErrRequired is returned by Validate when a setting the server cannot
	// start without is missing: storage, a listener, a storage path, or TLS
	// certificate files.
	ErrRequired = errors.New("required setting is missing")
)
