package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// cryptoMode picks one of the transit and PKI workloads.
type cryptoMode int

const (
	transitEncrypt      cryptoMode = iota // POST Name/encrypt/bench, one plaintext
	transitEncryptBatch                   // POST Name/encrypt/bench, a batch_input of cryptoBatch items
	pkiIssueEC                            // POST Name/issue/bench, EC P-256 leaf
	pkiIssueRSA                           // POST Name/issue/bench, RSA-2048 leaf
)

// cryptoBatch is the size of transit-encrypt-batch's batch_input.
const cryptoBatch = 100

// crypto is the transit and PKI workloads. Setup mounts the engine at
// Name/ and creates a key (transit) or a root and a role (pki); Teardown
// unmounts it. Every Do sends the same prepared request.
type crypto struct {
	mode    cryptoMode
	c       *Client
	mounted bool
	req     *Request
}

func (w *crypto) Name() string {
	return [...]string{transitEncrypt: "transit-encrypt", transitEncryptBatch: "transit-encrypt-batch",
		pkiIssueEC: "pki-issue-ec", pkiIssueRSA: "pki-issue-rsa"}[w.mode]
}

func (w *crypto) Setup(ctx context.Context, env *Env) error {
	w.c = env.Client
	mount := env.Name
	typ := "transit"
	if w.mode == pkiIssueEC || w.mode == pkiIssueRSA {
		typ = "pki"
	}
	if err := w.c.Call(ctx, "POST", "sys/mounts/"+mount, map[string]any{"type": typ, "description": "tresor bench (temporary)"}, nil); err != nil {
		return fmt.Errorf("mount %s at %s/: %w", typ, mount, err)
	}
	w.mounted = true
	var body any
	switch w.mode {
	case transitEncrypt, transitEncryptBatch:
		if err := w.c.Call(ctx, "POST", mount+"/keys/bench", map[string]any{"type": "aes256-gcm96"}, nil); err != nil {
			return fmt.Errorf("create transit key: %w", err)
		}
		pt := base64.StdEncoding.EncodeToString([]byte("4111 1111 1111 1111"))
		body = map[string]any{"plaintext": pt}
		if w.mode == transitEncryptBatch {
			items := make([]map[string]string, cryptoBatch)
			for i := range items {
				items[i] = map[string]string{"plaintext": pt}
			}
			body = map[string]any{"batch_input": items}
		}
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		w.req = w.c.Prepare("POST", mount+"/encrypt/bench", raw)
	default:
		if err := w.c.Call(ctx, "POST", mount+"/root/generate/internal", map[string]any{"common_name": "bench root", "key_type": "ec", "ttl": "720h"}, nil); err != nil {
			return fmt.Errorf("generate root: %w", err)
		}
		role := map[string]any{"allowed_domains": "bench.local", "allow_subdomains": true, "ttl": "1h", "key_type": "ec", "key_bits": 256}
		if w.mode == pkiIssueRSA {
			role["key_type"], role["key_bits"] = "rsa", 2048
		}
		if err := w.c.Call(ctx, "POST", mount+"/roles/bench", role, nil); err != nil {
			return fmt.Errorf("create role: %w", err)
		}
		// no_store is left off: a stored certificate is part of the cost.
		raw, _ := json.Marshal(map[string]any{"common_name": "api.bench.local"})
		w.req = w.c.Prepare("POST", mount+"/issue/bench", raw)
	}
	return nil
}

func (w *crypto) Do(ctx context.Context, _ int) (int, error) { return w.c.Send(ctx, w.req) }

func (w *crypto) Teardown(ctx context.Context, env *Env) error {
	if !w.mounted {
		return nil
	}
	if err := w.c.Call(ctx, "DELETE", "sys/mounts/"+env.Name, nil, nil); err != nil {
		return fmt.Errorf("unmount %s/: %w", env.Name, err)
	}
	w.mounted = false
	return nil
}
