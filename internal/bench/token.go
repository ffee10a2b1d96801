package bench

import (
	"context"
	"encoding/json"
	"fmt"
)

// Both token workloads hang what they create under one parent token, so
// that revoking the parent (revoke-self) in Teardown removes the whole tree.

// tokenAuth is the part of a login or token-create response we need.
type tokenAuth struct {
	Auth struct {
		ClientToken string `json:"client_token"`
	} `json:"auth"`
}

// createToken creates a token with c and returns its ID.
func createToken(ctx context.Context, c *Client, body map[string]any) (string, error) {
	var out tokenAuth
	if err := c.Call(ctx, "POST", "auth/token/create", body, &out); err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	if out.Auth.ClientToken == "" {
		return "", fmt.Errorf("create token: response has no auth.client_token")
	}
	return out.Auth.ClientToken, nil
}

// tokenParent creates the parent token. It inherits the caller's policies
// (it must be allowed to create tokens itself) and lives as long as the run.
func tokenParent(ctx context.Context, env *Env) (*Client, error) {
	id, err := createToken(ctx, env.Client, map[string]any{
		"display_name": "bench-" + env.Name,
		"ttl":          ttlString(env),
	})
	if err != nil {
		return nil, fmt.Errorf("parent token: %w", err)
	}
	return env.Client.WithToken(id), nil
}

// childBody is the request for one short-lived, default-policy child.
func childBody(env *Env) map[string]any {
	return map[string]any{
		"display_name": "bench",
		"policies":     []string{"default"},
		"ttl":          ttlString(env),
	}
}

// revokeParent revokes the parent token and with it every child.
func revokeParent(ctx context.Context, parent *Client) error {
	if parent == nil {
		return nil
	}
	if err := parent.Call(ctx, "POST", "auth/token/revoke-self", nil, nil); err != nil {
		return fmt.Errorf("revoke bench tokens: %w", err)
	}
	return nil
}

// tokenCreate measures POST auth/token/create of a default-policy child.
type tokenCreate struct {
	parent *Client
	req    *Request
}

func (w *tokenCreate) Name() string { return "token-create" }

func (w *tokenCreate) Setup(ctx context.Context, env *Env) error {
	var err error
	if w.parent, err = tokenParent(ctx, env); err != nil {
		return err
	}
	body, err := json.Marshal(childBody(env))
	if err != nil {
		return fmt.Errorf("token body: %w", err)
	}
	w.req = w.parent.Prepare("POST", "auth/token/create", body)
	return nil
}

func (w *tokenCreate) Do(ctx context.Context, _ int) (int, error) { return w.parent.Send(ctx, w.req) }

func (w *tokenCreate) Teardown(ctx context.Context, _ *Env) error {
	err := revokeParent(ctx, w.parent)
	w.parent = nil
	return err
}

// tokenLookup measures GET auth/token/lookup-self, each worker with its own
// default-policy token: the cost every authenticated request pays.
type tokenLookup struct {
	parent *Client
	c      *Client
	reqs   []*Request // by worker
}

func (w *tokenLookup) Name() string { return "token-lookup" }

func (w *tokenLookup) Setup(ctx context.Context, env *Env) error {
	var err error
	if w.parent, err = tokenParent(ctx, env); err != nil {
		return err
	}
	w.c = env.Client
	w.reqs = make([]*Request, env.Concurrency)
	for i := range w.reqs {
		id, err := createToken(ctx, w.parent, childBody(env))
		if err != nil {
			return fmt.Errorf("worker token %d: %w", i, err)
		}
		w.reqs[i] = env.Client.WithToken(id).Prepare("GET", "auth/token/lookup-self", nil)
	}
	return nil
}

func (w *tokenLookup) Do(ctx context.Context, worker int) (int, error) {
	return w.c.Send(ctx, w.reqs[worker])
}

func (w *tokenLookup) Teardown(ctx context.Context, _ *Env) error {
	err := revokeParent(ctx, w.parent)
	w.parent = nil
	return err
}
