package core_test

import (
	"context"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/storage"
)

// intentEngine records whether each context it sees is marked with
// storage.WithWriteIntent.
type intentEngine struct {
	mu                  sync.Mutex
	checkMarked, called []bool
}

func (e *intentEngine) ExistenceCheck(ctx context.Context, req *logical.Request) (bool, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checkMarked = append(e.checkMarked, storage.WriteIntent(ctx))
	return true, true, nil
}

func (e *intentEngine) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.called = append(e.called, storage.WriteIntent(ctx))
	return nil, nil
}

// TestExistenceCheckIsWriteIntent: the existence check runs with the write
// intent marker (a replicated store may answer it without a read-index
// round), and the handler itself without it.
func TestExistenceCheckIsWriteIntent(t *testing.T) {
	eng := &intentEngine{}
	s := servertest.New(t, servertest.Options{Backends: map[string]logical.Factory{
		"intent": func(context.Context, *logical.BackendConfig) (logical.Backend, error) { return eng, nil },
	}})
	if err := s.Client.Sys().Mount("in", &api.MountInput{Type: "intent"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.Logical().Write("in/x", map[string]any{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if len(eng.checkMarked) != 1 || !eng.checkMarked[0] {
		t.Fatalf("existence checks marked = %v, want [true]", eng.checkMarked)
	}
	if len(eng.called) != 1 || eng.called[0] {
		t.Fatalf("handler calls marked = %v, want [false]", eng.called)
	}
}
