//go:build windows || plan9

package audit

import "fmt"

func newSyslogSink(*options) (sink, error) {
	return nil, fmt.Errorf("%w: syslog: not available on this platform", ErrInvalidOptions)
}
