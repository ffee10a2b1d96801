package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/servertest"
)

// BenchmarkSecretPage compares showing a secret in the UI (session, mount
// lookup, data and metadata reads in process, template) with one read of
// it through the API by the Go client, on the same server.
func BenchmarkSecretPage(b *testing.B) {
	s := servertest.New(b, servertest.Options{UI: true})
	if _, err := s.Client.KVv2("secret").Put(context.Background(), "app/db", map[string]any{"user": "app", "password": "pw"}); err != nil {
		b.Fatal(err)
	}
	b.Run("api-read", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Client.KVv2("secret").Get(context.Background(), "app/db"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ui-page", func(b *testing.B) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		get := func(p string) string {
			resp, err := c.Get(s.Addr + p)
			if err != nil {
				b.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(raw)
		}
		page := get("/ui/login")
		i := strings.Index(page, `name="csrf" value="`)
		csrf := page[i+19 : i+19+strings.Index(page[i+19:], `"`)]
		resp, err := c.PostForm(s.Addr+"/ui/login", url.Values{"csrf": {csrf}, "method": {"token"}, "token": {s.RootToken}})
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		for b.Loop() {
			if !strings.Contains(get("/ui/kv?mount=secret&path=app/db"), "password") {
				b.Fatal("no secret on the page")
			}
		}
	})
}
