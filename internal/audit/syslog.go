//go:build !windows && !plan9

package audit

import (
	"fmt"
	"log/syslog"
	"strings"
	"sync"
)

var syslogFacilities = map[string]syslog.Priority{
	"KERN": syslog.LOG_KERN, "USER": syslog.LOG_USER, "MAIL": syslog.LOG_MAIL,
	"DAEMON": syslog.LOG_DAEMON, "AUTH": syslog.LOG_AUTH, "SYSLOG": syslog.LOG_SYSLOG,
	"LPR": syslog.LOG_LPR, "NEWS": syslog.LOG_NEWS, "UUCP": syslog.LOG_UUCP,
	"CRON": syslog.LOG_CRON, "AUTHPRIV": syslog.LOG_AUTHPRIV, "FTP": syslog.LOG_FTP,
	"LOCAL0": syslog.LOG_LOCAL0, "LOCAL1": syslog.LOG_LOCAL1, "LOCAL2": syslog.LOG_LOCAL2,
	"LOCAL3": syslog.LOG_LOCAL3, "LOCAL4": syslog.LOG_LOCAL4, "LOCAL5": syslog.LOG_LOCAL5,
	"LOCAL6": syslog.LOG_LOCAL6, "LOCAL7": syslog.LOG_LOCAL7,
}

// syslogSink sends each line to the local syslog daemon at Info priority.
type syslogSink struct {
	priority syslog.Priority
	tag      string

	mu     sync.Mutex
	w      *syslog.Writer
	closed bool
}

func newSyslogSink(o *options) (*syslogSink, error) {
	name := o.string("facility", "AUTH")
	facility, ok := syslogFacilities[strings.ToUpper(name)]
	if !ok {
		return nil, fmt.Errorf("%w: syslog: unknown facility %q", ErrInvalidOptions, name)
	}
	return &syslogSink{priority: facility | syslog.LOG_INFO, tag: o.string("tag", "vault")}, nil
}

func (s *syslogSink) write(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.w == nil {
		if err := s.dial(); err != nil {
			return err
		}
	}
	// syslog.Writer reconnects and retries once on its own.
	if _, err := s.w.Write(line); err != nil {
		return fmt.Errorf("write to syslog: %w", err)
	}
	return nil
}

func (s *syslogSink) dial() error {
	w, err := syslog.New(s.priority, s.tag)
	if err != nil {
		return fmt.Errorf("connect to syslog: %w", err)
	}
	s.w = w
	return nil
}

func (s *syslogSink) reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.w != nil {
		s.w.Close()
		s.w = nil
	}
	return s.dial()
}

func (s *syslogSink) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.w == nil {
		return nil
	}
	err := s.w.Close()
	s.w = nil
	return err
}
