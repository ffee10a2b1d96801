package audit

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// socketSink sends each line to a TCP, UDP or Unix socket. It connects on
// first use and, after a failed write, reconnects and retries once, so
// that a restarted collector costs no entry.
type socketSink struct {
	network, address string
	timeout          time.Duration

	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

func newSocketSink(o *options) (*socketSink, error) {
	s := &socketSink{address: o.string("address", "")}
	if s.address == "" {
		return nil, fmt.Errorf("%w: socket: address is required", ErrInvalidOptions)
	}
	switch s.network = o.string("socket_type", "tcp"); s.network {
	case "tcp", "udp", "unix":
	default:
		return nil, fmt.Errorf("%w: socket: socket_type %q is not tcp, udp or unix", ErrInvalidOptions, s.network)
	}
	var err error
	if s.timeout, err = o.duration("write_timeout", 2*time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *socketSink) write(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	err := s.send(line)
	if err == nil {
		return nil
	}
	s.drop()
	if err2 := s.send(line); err2 != nil {
		s.drop()
		return fmt.Errorf("send to %s %s: %w", s.network, s.address, err2)
	}
	return nil
}

// send writes line on the connection, dialling first if needed.
func (s *socketSink) send(line []byte) error {
	if s.conn == nil {
		c, err := net.DialTimeout(s.network, s.address, s.timeout)
		if err != nil {
			return err
		}
		s.conn = c
	}
	if err := s.conn.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
		return err
	}
	_, err := s.conn.Write(line)
	return err
}

func (s *socketSink) drop() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// reopen drops the connection; the next write dials again.
func (s *socketSink) reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop()
	return nil
}

func (s *socketSink) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.drop()
	return nil
}
