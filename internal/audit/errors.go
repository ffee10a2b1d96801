package audit

import "errors"

// Sentinel errors, by when they occur.
var (
	// ErrNotRecorded is wrapped by LogRequest and LogResponse when devices
	// are enabled and none of them recorded the entry. The caller must
	// then fail the request without returning its result.
	ErrNotRecorded = errors.New("audit: no device recorded the entry")

	// ErrExists is returned by Enable when a device is already enabled
	// under the name.
	ErrExists = errors.New("audit: a device is already enabled at this path")

	// ErrNoDevice is returned by Disable and Hash for a name under which
	// no device is enabled.
	ErrNoDevice = errors.New("audit: no device enabled at this path")

	// ErrInvalidOptions is wrapped by NewDevice for an unknown device type
	// or a missing, malformed or unsafe option. Its message is safe to
	// show the operator.
	ErrInvalidOptions = errors.New("audit: invalid device options")

	// ErrClosed is returned when logging to a device that has been closed.
	ErrClosed = errors.New("audit: device closed")
)
