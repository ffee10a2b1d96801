package bench

import (
	"context"
	"encoding/json"
	"fmt"
)

// approleLogin measures POST auth/Name/login with a role ID and secret ID.
// Setup enables approle at auth/Name/ with one role; Teardown disables the
// mount, which also revokes the tokens its logins created.
type approleLogin struct {
	c       *Client
	enabled bool
	req     *Request
}

func (w *approleLogin) Name() string { return "approle-login" }

func (w *approleLogin) Setup(ctx context.Context, env *Env) error {
	w.c = env.Client
	if err := enableAuth(ctx, env, "approle"); err != nil {
		return err
	}
	w.enabled = true
	role := "auth/" + env.Name + "/role/bench"
	err := w.c.Call(ctx, "POST", role, map[string]any{
		"token_policies":     []string{"default"},
		"token_ttl":          ttlString(env),
		"secret_id_num_uses": 0, // unlimited: every login reuses it
	}, nil)
	if err != nil {
		return fmt.Errorf("approle role: %w", err)
	}
	var roleID struct {
		Data struct {
			RoleID string `json:"role_id"`
		} `json:"data"`
	}
	if err := w.c.Call(ctx, "GET", role+"/role-id", nil, &roleID); err != nil {
		return fmt.Errorf("approle role-id: %w", err)
	}
	var secretID struct {
		Data struct {
			SecretID string `json:"secret_id"`
		} `json:"data"`
	}
	if err := w.c.Call(ctx, "POST", role+"/secret-id", nil, &secretID); err != nil {
		return fmt.Errorf("approle secret-id: %w", err)
	}
	if roleID.Data.RoleID == "" || secretID.Data.SecretID == "" {
		return fmt.Errorf("approle: empty role_id or secret_id in response")
	}
	body, err := json.Marshal(map[string]string{"role_id": roleID.Data.RoleID, "secret_id": secretID.Data.SecretID})
	if err != nil {
		return fmt.Errorf("approle login body: %w", err)
	}
	w.req = w.c.WithToken("").Prepare("POST", "auth/"+env.Name+"/login", body)
	return nil
}

func (w *approleLogin) Do(ctx context.Context, _ int) (int, error) { return w.c.Send(ctx, w.req) }

func (w *approleLogin) Teardown(ctx context.Context, env *Env) error {
	if !w.enabled {
		return nil
	}
	w.enabled = false
	return disableAuth(ctx, env)
}

// enableAuth enables the auth method kind at auth/Name/.
func enableAuth(ctx context.Context, env *Env, kind string) error {
	err := env.Client.Call(ctx, "POST", "sys/auth/"+env.Name, map[string]any{
		"type":        kind,
		"description": "tresor bench (temporary)",
	}, nil)
	if err != nil {
		return fmt.Errorf("enable %s at auth/%s/: %w", kind, env.Name, err)
	}
	return nil
}

// disableAuth disables auth/Name/.
func disableAuth(ctx context.Context, env *Env) error {
	if err := env.Client.Call(ctx, "DELETE", "sys/auth/"+env.Name, nil, nil); err != nil {
		return fmt.Errorf("disable auth/%s/: %w", env.Name, err)
	}
	return nil
}
