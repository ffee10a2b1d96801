package kv_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// These tests drive KV through a real server with the official client's
// KVv2/KVv1 helpers, as users do.

func TestKVv2Versions(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	ctx := context.Background()
	kv := s.Client.KVv2("secret")

	v1, err := kv.Put(ctx, "services/my-app", map[string]any{"api_key": "k1", "database_url": "postgres://db"})
	if err != nil || v1.VersionMetadata.Version != 1 {
		t.Fatalf("put 1: %+v %v", v1, err)
	}
	if _, err := kv.Put(ctx, "services/my-app", map[string]any{"api_key": "k2"}); err != nil {
		t.Fatal(err)
	}
	got, err := kv.GetVersion(ctx, "services/my-app", 1)
	if err != nil || got.Data["api_key"] != "k1" || got.VersionMetadata.Version != 1 {
		t.Fatalf("get version 1: %+v %v", got, err)
	}
	latest, err := kv.Get(ctx, "services/my-app")
	if err != nil || latest.Data["api_key"] != "k2" {
		t.Fatalf("get latest: %+v %v", latest, err)
	}
	if _, err := kv.Rollback(ctx, "services/my-app", 1); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if latest, _ = kv.Get(ctx, "services/my-app"); latest.Data["api_key"] != "k1" || latest.VersionMetadata.Version != 3 {
		t.Fatalf("after rollback: %+v", latest)
	}
	if err := kv.DeleteVersions(ctx, "services/my-app", []int{2}); err != nil {
		t.Fatal(err)
	}
	// As with Vault, the client answers a deleted version with its
	// metadata and no data.
	if got, err := kv.GetVersion(ctx, "services/my-app", 2); err != nil || got.Data != nil || got.VersionMetadata.DeletionTime.IsZero() {
		t.Fatalf("deleted version 2: %+v %v; want no data and a deletion time", got, err)
	}
	if err := kv.Undelete(ctx, "services/my-app", []int{2}); err != nil {
		t.Fatal(err)
	}
	if got, err = kv.GetVersion(ctx, "services/my-app", 2); err != nil || got.Data["api_key"] != "k2" {
		t.Fatalf("undeleted version 2: %+v %v", got, err)
	}
	if err := kv.Destroy(ctx, "services/my-app", []int{2}); err != nil {
		t.Fatal(err)
	}
	meta, err := kv.GetMetadata(ctx, "services/my-app")
	if err != nil || meta.CurrentVersion != 3 || len(meta.Versions) != 3 || !meta.Versions["2"].Destroyed {
		t.Fatalf("metadata: %+v %v", meta, err)
	}
	// A soft-deleted latest version is a 404 that still carries metadata.
	if err := kv.Delete(ctx, "services/my-app"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", s.Addr+"/v1/secret/data/services/my-app", nil)
	req.Header.Set("X-Vault-Token", s.RootToken)
	raw, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Body.Close()
	if raw.StatusCode != http.StatusNotFound {
		t.Fatalf("read of a deleted latest version: %d; want 404", raw.StatusCode)
	}
	sec, err := api.ParseSecret(raw.Body)
	if err != nil || sec.Data["metadata"] == nil {
		t.Fatalf("deleted version's 404 lacks metadata: %+v %v", sec, err)
	}
	keys, err := s.Client.Logical().List("secret/metadata/services")
	if err != nil || keys == nil || len(keys.Data["keys"].([]any)) != 1 {
		t.Fatalf("list: %+v %v", keys, err)
	}
	if _, err := kv.Get(ctx, "nope"); !errors.Is(err, api.ErrSecretNotFound) {
		t.Fatalf("missing secret: %v; want ErrSecretNotFound", err)
	}
}

func TestKVv2CAS(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	ctx := context.Background()
	kv := s.Client.KVv2("secret")
	if _, err := kv.Put(ctx, "c", map[string]any{"a": "1"}, api.WithCheckAndSet(0)); err != nil {
		t.Fatalf("cas=0 on a new key: %v", err)
	}
	_, err := kv.Put(ctx, "c", map[string]any{"a": "2"}, api.WithCheckAndSet(0))
	if statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "check-and-set parameter did not match the current version") {
		t.Fatalf("stale cas: %v; want 400 check-and-set mismatch", err)
	}
	// 50 writers with the same cas: exactly one wins.
	var wins, mismatches atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := kv.Put(ctx, "c", map[string]any{"a": "race"}, api.WithCheckAndSet(1))
			switch {
			case err == nil:
				wins.Add(1)
			case statusOf(err) == http.StatusBadRequest:
				mismatches.Add(1)
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || mismatches.Load() != 49 {
		t.Fatalf("50 concurrent cas=1 writes: %d won, %d CAS errors; want 1 and 49", wins.Load(), mismatches.Load())
	}
	// cas_required on the metadata makes a write without cas a 400.
	if err := kv.PutMetadata(ctx, "c", api.KVMetadataPutInput{CASRequired: true, MaxVersions: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "c", map[string]any{"a": "x"}); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("write without cas under cas_required: %v; want 400", err)
	}
	for v := 2; v <= 4; v++ {
		if _, err := kv.Put(ctx, "c", map[string]any{"a": "x"}, api.WithCheckAndSet(v)); err != nil {
			t.Fatal(err)
		}
	}
	meta, _ := kv.GetMetadata(ctx, "c")
	if len(meta.Versions) != 2 || meta.OldestVersion != 4 {
		t.Fatalf("max_versions=2: versions %v oldest %d", meta.Versions, meta.OldestVersion)
	}
}

func TestKVv2PatchAndDeleteAfter(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	ctx := context.Background()
	kv := s.Client.KVv2("secret")
	if _, err := kv.Put(ctx, "p", map[string]any{"a": "1", "b": "2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Patch(ctx, "p", map[string]any{"b": "3", "c": "4"}); err != nil {
		t.Fatalf("patch: %v", err)
	}
	got, _ := kv.Get(ctx, "p")
	if got.Data["a"] != "1" || got.Data["b"] != "3" || got.Data["c"] != "4" || got.VersionMetadata.Version != 2 {
		t.Fatalf("after patch: %+v", got)
	}
	if err := kv.PutMetadata(ctx, "p", api.KVMetadataPutInput{DeleteVersionAfter: time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "p", map[string]any{"a": "short-lived"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if got, err := kv.Get(ctx, "p"); err != nil || got.Data != nil {
		t.Fatalf("version still readable after delete_version_after: %+v %v", got, err)
	}
}

func TestMountsAndUpgrade(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	sys := s.Client.Sys()
	if err := sys.Mount("kv1", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.Logical().Write("kv1/hello", map[string]any{"value": "world"}); err != nil {
		t.Fatal(err)
	}
	mounts, err := sys.ListMounts()
	if err != nil || mounts["kv1/"] == nil || mounts["kv1/"].Options["version"] != "1" || mounts["secret/"].Options["version"] != "2" {
		t.Fatalf("ListMounts: %v %v", mounts, err)
	}
	for _, bad := range []string{"sys", "auth/x", "cubbyhole", "kv1/nested", "secret/a"} {
		if err := sys.Mount(bad, &api.MountInput{Type: "kv"}); statusOf(err) != http.StatusBadRequest {
			t.Errorf("mount at %q: %v; want 400", bad, err)
		}
	}
	// Upgrading v1 to v2 keeps the data.
	if err := sys.TuneMount("kv1", api.MountConfigInput{Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Client.KVv2("kv1").Get(context.Background(), "hello")
	if err != nil || got.Data["value"] != "world" {
		t.Fatalf("after upgrade: %+v %v", got, err)
	}
	if err := sys.Remount("kv1", "moved"); err != nil {
		t.Fatalf("remount: %v", err)
	}
	if got, err = s.Client.KVv2("moved").Get(context.Background(), "hello"); err != nil || got.Data["value"] != "world" {
		t.Fatalf("after remount: %+v %v", got, err)
	}
	if err := sys.Unmount("moved"); err != nil {
		t.Fatal(err)
	}
	if err := sys.Mount("moved", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.KVv2("moved").Get(context.Background(), "hello"); !errors.Is(err, api.ErrSecretNotFound) {
		t.Fatalf("data survived unmount: %v", err)
	}
	if err := sys.Unmount("sys"); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("unmount sys: %v; want 400", err)
	}
}

// TestRecursiveListFilteredByACL: a recursive LIST shows only the keys the
// caller may read or list.
func TestRecursiveListFilteredByACL(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	ctx := context.Background()
	for _, p := range []string{"team/a/db", "team/a/api", "team/b/db", "other/x"} {
		if _, err := s.Client.KVv2("secret").Put(ctx, p, map[string]any{"v": p}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Client.Logical().ReadWithData("secret/metadata/", map[string][]string{"recursive": {"true"}, "list": {"true"}})
	if err != nil || len(all.Data["keys"].([]any)) != 4 {
		t.Fatalf("root recursive list: %+v %v", all, err)
	}
	if err := s.Client.Sys().PutPolicy("team-a", `
path "secret/metadata/*" { capabilities = ["list"] }
path "secret/metadata/team/b/*" { capabilities = ["deny"] }
path "secret/metadata/other/*" { capabilities = ["deny"] }
`); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"team-a"}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.Client.Clone()
	c.SetToken(tok.Auth.ClientToken)
	got, err := c.Logical().ReadWithData("secret/metadata/", map[string][]string{"recursive": {"true"}, "list": {"true"}})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range got.Data["keys"].([]any) {
		keys = append(keys, k.(string))
	}
	if strings.Join(keys, ",") != "team/a/api,team/a/db" {
		t.Fatalf("filtered recursive list = %v; want team/a/api, team/a/db", keys)
	}
}

func TestKVMoveAcrossMounts(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	ctx := context.Background()
	if err := s.Client.Sys().Mount("archive", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	kv := s.Client.KVv2("secret")
	for i := 0; i < 3; i++ {
		if _, err := kv.Put(ctx, "app", map[string]any{"v": i}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Client.Logical().Write("sys/kv/move", map[string]any{"from": "secret/app", "to": "archive/app"}); err != nil {
		t.Fatal(err)
	}
	meta, err := s.Client.KVv2("archive").GetMetadata(ctx, "app")
	if err != nil || meta.CurrentVersion != 3 || len(meta.Versions) != 3 {
		t.Fatalf("moved metadata: %+v %v", meta, err)
	}
	if _, err := kv.GetMetadata(ctx, "app"); err == nil {
		t.Fatal("source still exists after a move")
	}
	// Moving onto an existing secret is refused, and nothing changes.
	if _, err := kv.Put(ctx, "app", map[string]any{"v": "new"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.Logical().Write("sys/kv/move", map[string]any{"from": "secret/app", "to": "archive/app"}); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("move onto an existing secret: %v; want 400", err)
	}
	// A token without sudo on sys/kv/move cannot move.
	_ = s.Client.Sys().PutPolicy("rw", `path "secret/*" { capabilities = ["read","create","update","delete"] }`)
	tok, _ := s.Client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"rw"}})
	c, _ := s.Client.Clone()
	c.SetToken(tok.Auth.ClientToken)
	if _, err := c.Logical().Write("sys/kv/move", map[string]any{"from": "secret/app", "to": "secret/app2"}); statusOf(err) != http.StatusForbidden {
		t.Fatalf("move without sudo: %v; want 403", err)
	}
}

// TestDefaultSecretMount: a freshly initialised server has the KV v1
// secret/ mount Vault 0.x tutorials write to; enabling secret/ explicitly
// (today's tutorials) replaces it while it is empty, and is refused once
// it holds data.
func TestDefaultSecretMount(t *testing.T) {
	fresh := func() *api.Client {
		s := servertest.New(t, servertest.Options{Uninitialized: true})
		init, err := s.Client.Sys().Init(&api.InitRequest{SecretShares: 1, SecretThreshold: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Client.Sys().Unseal(init.Keys[0]); err != nil {
			t.Fatal(err)
		}
		s.Client.SetToken(init.RootToken)
		return s.Client
	}
	old := fresh()
	if _, err := old.Logical().Write("secret/hello", map[string]any{"value": "world"}); err != nil {
		t.Fatalf("0.x-style write to secret/: %v", err)
	}
	if got, err := old.Logical().Read("secret/hello"); err != nil || got.Data["value"] != "world" {
		t.Fatalf("read back: %+v %v", got, err)
	}
	if err := old.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("enabling over a secret/ that holds data: %v; want 400", err)
	}
	modern := fresh()
	if err := modern.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("secrets enable -path=secret kv-v2 on a fresh server: %v", err)
	}
	if _, err := modern.KVv2("secret").Put(context.Background(), "app", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
}

// TestSearchFilteredByACL: LIST ?recursive=true&filter=GLOB finds keys by
// path across a mount, only those the caller may see, page by page.
func TestSearchFilteredByACL(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	ctx := context.Background()
	for _, p := range []string{"team/a/db-pass", "team/a/api", "team/b/db-pass", "db/root"} {
		if _, err := s.Client.KVv2("secret").Put(ctx, p, map[string]any{"v": "x"}); err != nil {
			t.Fatal(err)
		}
	}
	search := func(c *api.Client, q map[string][]string) []string {
		t.Helper()
		q["list"], q["recursive"] = []string{"true"}, []string{"true"}
		got, err := c.Logical().ReadWithData("secret/metadata/", q)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		if got != nil {
			for _, k := range got.Data["keys"].([]any) {
				keys = append(keys, k.(string))
			}
		}
		return keys
	}
	if got := search(s.Client, map[string][]string{"filter": {"DB"}}); strings.Join(got, ",") != "db/root,team/a/db-pass,team/b/db-pass" {
		t.Errorf("root search = %v", got)
	}
	if got := search(s.Client, map[string][]string{"filter": {"team/*/db*"}, "limit": {"1"}, "after": {"team/a/db-pass"}}); strings.Join(got, ",") != "team/b/db-pass" {
		t.Errorf("second page = %v", got)
	}
	if err := s.Client.Sys().PutPolicy("team-a", `
path "secret/metadata/team/a/*" { capabilities = ["list", "read"] }
path "secret/metadata/" { capabilities = ["list"] }
`); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"team-a"}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.Client.Clone()
	c.SetToken(tok.Auth.ClientToken)
	if got := search(c, map[string][]string{"filter": {"db"}}); strings.Join(got, ",") != "team/a/db-pass" {
		t.Errorf("team-a search = %v; want only team/a/db-pass", got)
	}
}
