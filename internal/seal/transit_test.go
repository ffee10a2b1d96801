package seal_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/seal"
	"github.com/tresorhq/tresor/internal/servertest"
)

// TestTransitWrapper wraps and unwraps through a real Tresor's transit
// engine, at a custom mount, and fails cleanly with a wrong key name, a
// wrong token and an unreachable server.
func TestTransitWrapper(t *testing.T) {
	srv := servertest.New(t, servertest.Options{})
	if err := srv.Client.Sys().Mount("kms", &api.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client.Logical().Write("kms/keys/unseal", nil); err != nil {
		t.Fatal(err)
	}
	noenv := func(string) string { return "" }
	ctx := context.Background()
	w, err := seal.NewTransit(seal.TransitConfig{Address: srv.Addr, Token: srv.RootToken, KeyName: "unseal", MountPath: "/kms/", DisableRenewal: true}, noenv, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	root := bytes.Repeat([]byte{4}, seal.KeySize)
	blob, err := w.Encrypt(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(blob), "vault:v1:") {
		t.Errorf("blob %q is not a transit ciphertext", blob)
	}
	if got, err := w.Decrypt(ctx, blob); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("decrypt: %v", err)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	for name, cfg := range map[string]seal.TransitConfig{
		"wrong key":   {Address: srv.Addr, Token: srv.RootToken, KeyName: "nope", MountPath: "kms"},
		"wrong token": {Address: srv.Addr, Token: "hvs.bogus", KeyName: "unseal", MountPath: "kms"},
		"unreachable": {Address: dead, Token: srv.RootToken, KeyName: "unseal", MountPath: "kms"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.DisableRenewal = true
			bad, err := seal.NewTransit(cfg, noenv, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer bad.Close()
			if _, err := bad.Decrypt(ctx, blob); err == nil {
				t.Fatal("decrypted")
			}
		})
	}
	if _, err := seal.NewTransit(seal.TransitConfig{Address: srv.Addr}, noenv, nil); err == nil {
		t.Error("no key_name accepted")
	}
	if _, err := seal.NewTransit(seal.TransitConfig{KeyName: "k"}, noenv, nil); err == nil {
		t.Error("no address accepted")
	}
	env := map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.RootToken}
	fromEnv, err := seal.NewTransit(seal.TransitConfig{KeyName: "unseal", MountPath: "kms", DisableRenewal: true}, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fromEnv.Decrypt(ctx, blob); err != nil {
		t.Errorf("VAULT_ADDR/VAULT_TOKEN fallback: %v", err)
	}
}
