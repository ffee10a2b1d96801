package sys_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/servertest"
)

// BenchmarkQuorumFlood measures what one unauthenticated generate-root
// update with a made-up share costs the server once the rate limit has
// kicked in, against sys/seal-status on the same server as the baseline.
func BenchmarkQuorumFlood(b *testing.B) {
	s := servertest.New(b, servertest.Options{Listener: &config.Listener{Type: "tcp", TLSDisable: true,
		MaxRequestSize: config.DefaultMaxRequestSize, UnauthedGenerateRoot: true}})
	gr, err := s.Client.Sys().GenerateRootInit("", "")
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{}
	do := func(method, path, body string) {
		req, _ := http.NewRequest(method, s.Addr+"/v1/"+path, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	share := make([]byte, 32)
	b.Run("seal-status", func(b *testing.B) {
		for b.Loop() {
			do("GET", "sys/seal-status", "")
		}
	})
	b.Run("generate-root-update", func(b *testing.B) {
		for b.Loop() {
			_, _ = rand.Read(share)
			do("PUT", "sys/generate-root/update", fmt.Sprintf(`{"key":%q,"nonce":%q}`, hex.EncodeToString(share), gr.Nonce))
		}
	})
}
