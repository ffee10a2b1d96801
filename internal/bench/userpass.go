package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
)

// userpassLogin measures POST auth/Name/login/bench with a password: mostly
// the server's password hash. Setup enables userpass at auth/Name/ with one
// user; Teardown disables the mount and with it the login tokens.
type userpassLogin struct {
	c       *Client
	enabled bool
	req     *Request
}

func (w *userpassLogin) Name() string { return "userpass-login" }

func (w *userpassLogin) Setup(ctx context.Context, env *Env) error {
	w.c = env.Client
	if err := enableAuth(ctx, env, "userpass"); err != nil {
		return err
	}
	w.enabled = true
	password := rand.Text()
	err := w.c.Call(ctx, "POST", "auth/"+env.Name+"/users/bench", map[string]any{
		"password":       password,
		"token_policies": []string{"default"},
		"token_ttl":      ttlString(env),
	}, nil)
	if err != nil {
		return fmt.Errorf("userpass user: %w", err)
	}
	body, err := json.Marshal(map[string]string{"password": password})
	if err != nil {
		return fmt.Errorf("userpass login body: %w", err)
	}
	w.req = w.c.WithToken("").Prepare("POST", "auth/"+env.Name+"/login/bench", body)
	return nil
}

func (w *userpassLogin) Do(ctx context.Context, _ int) (int, error) { return w.c.Send(ctx, w.req) }

func (w *userpassLogin) Teardown(ctx context.Context, env *Env) error {
	if !w.enabled {
		return nil
	}
	w.enabled = false
	return disableAuth(ctx, env)
}
