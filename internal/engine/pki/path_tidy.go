package pki

import (
	"context"
	"crypto/x509"
	"errors"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// tidyRunner runs at most one tidy at a time and remembers its status.
type tidyRunner struct {
	mu     sync.Mutex
	status map[string]any
	done   chan struct{} // closed when the running tidy ends
}

type tidyIn struct {
	CertStore    bool          `field:"tidy_cert_store"`
	RevokedCerts bool          `field:"tidy_revoked_certs"`
	SafetyBuffer time.Duration `field:"safety_buffer"`
}

func (b *Backend) tidyPaths() []*framework.Path {
	return []*framework.Path{
		{
			Pattern: "tidy",
			Fields: map[string]*framework.Field{
				"tidy_cert_store":    {Type: framework.TypeBool, Description: "Delete expired certificates from storage."},
				"tidy_revoked_certs": {Type: framework.TypeBool, Description: "Delete expired certificates from the revoked list (and the CRL)."},
				"safety_buffer":      {Type: framework.TypeDuration, Default: "72h", Description: "Only certificates expired this long ago."},
			},
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.startTidy},
			Synopsis:   "Delete expired certificates, one storage bucket at a time, in the background.",
		},
		{
			Pattern:    "tidy-status",
			Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.tidyStatus},
			Synopsis:   "The state of the last tidy.",
		},
	}
}

func (b *Backend) startTidy(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in tidyIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.SafetyBuffer < time.Second {
		return nil, logical.InvalidRequest("safety_buffer must be at least one second")
	}
	if !in.CertStore && !in.RevokedCerts {
		return nil, logical.InvalidRequest("at least one of tidy_cert_store and tidy_revoked_certs must be set")
	}
	t := &b.tidy
	t.mu.Lock()
	if t.done != nil {
		select {
		case <-t.done:
		default:
			t.mu.Unlock()
			return nil, logical.InvalidRequest("tidy operation already in progress")
		}
	}
	t.done = make(chan struct{})
	t.status = map[string]any{
		"state": "Running", "error": nil, "time_started": b.now().UTC().Format(time.RFC3339Nano), "time_finished": nil,
		"tidy_cert_store": in.CertStore, "tidy_revoked_certs": in.RevokedCerts, "safety_buffer": int64(in.SafetyBuffer / time.Second),
		"cert_store_deleted_count": 0, "revoked_cert_deleted_count": 0,
	}
	done := t.done
	t.mu.Unlock()

	s := req.Storage
	go func() {
		defer close(done)
		// The request's context ends with the request; tidy outlives it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		err := b.runTidy(ctx, s, in)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.status["time_finished"] = b.now().UTC().Format(time.RFC3339Nano)
		if err != nil {
			t.status["state"] = "Error"
			t.status["error"] = "tidy failed; see the server log"
			b.log.Error("pki tidy failed", "error", err)
			return
		}
		t.status["state"] = "Finished"
	}()
	return &logical.Response{
		StatusCode: 202,
		Data:       map[string]any{},
		Warnings:   []string{"Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs."},
	}, nil
}

func (b *Backend) count(key string) {
	b.tidy.mu.Lock()
	b.tidy.status[key] = b.tidy.status[key].(int) + 1
	b.tidy.mu.Unlock()
}

// runTidy walks the certificate store one bucket at a time and the
// revoked list, deleting what expired before now - safety_buffer.
func (b *Backend) runTidy(ctx context.Context, s storage.Store, in tidyIn) error {
	cutoff := b.now().Add(-in.SafetyBuffer)
	if in.CertStore {
		err := eachCertBucket(ctx, s, func(serials []string) error {
			for _, serial := range serials {
				e, err := s.Get(ctx, certKey(serial))
				if errors.Is(err, storage.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				c, err := x509.ParseCertificate(e.Value)
				if err != nil || c.NotAfter.Before(cutoff) {
					if err := s.Delete(ctx, certKey(serial)); err != nil {
						return err
					}
					b.count("cert_store_deleted_count")
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if in.RevokedCerts {
		names, err := listNames(ctx, s, revokedPrefix)
		if err != nil {
			return err
		}
		changed := false
		for _, n := range names {
			var rev revokedRecord
			if ok, err := getJSON(ctx, s, revokedPrefix+n, &rev); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			if time.Unix(rev.NotAfter, 0).Before(cutoff) {
				if err := s.Delete(ctx, revokedPrefix+n); err != nil {
					return err
				}
				if err := s.Delete(ctx, certKey(n)); err != nil {
					return err
				}
				changed = true
				b.count("revoked_cert_deleted_count")
			}
		}
		if changed {
			return b.buildCRLs(ctx, s, "")
		}
	}
	return nil
}

func (b *Backend) tidyStatus(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	t := &b.tidy
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status == nil {
		return &logical.Response{Data: map[string]any{"state": "Inactive"}}, nil
	}
	d := make(map[string]any, len(t.status))
	for k, v := range t.status {
		d[k] = v
	}
	return &logical.Response{Data: d}, nil
}

// waitTidy blocks until the running tidy (if any) ends; for tests.
func (b *Backend) waitTidy() {
	b.tidy.mu.Lock()
	done := b.tidy.done
	b.tidy.mu.Unlock()
	if done != nil {
		<-done
	}
}
