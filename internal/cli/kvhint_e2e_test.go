package cli

import (
	"strings"
	"testing"
)

// Vault 0.x tutorials use the generic verbs on secret/, which a dev server
// mounts as KV version 2 today: the server's 404 says so, and the CLI names
// the kv command to type instead, without echoing the values.
func TestGenericVerbsOnKVv2Hint(t *testing.T) {
	r, _ := newCLIRunner(t)
	cases := []struct {
		args []string
		hint string
	}{
		{[]string{"write", "secret/digitalocean-api-key", "value=sk-do-123"}, "tresor kv put secret/digitalocean-api-key value=…"},
		{[]string{"read", "secret/digitalocean-api-key"}, "tresor kv get secret/digitalocean-api-key"},
		{[]string{"delete", "secret/digitalocean-api-key"}, "tresor kv delete secret/digitalocean-api-key"},
		{[]string{"list", "secret/"}, "tresor kv list secret"},
	}
	for _, tc := range cases {
		res := r.run(2, "", tc.args...)
		wantContains(t, strings.Join(tc.args, " "), res.stderr,
			"secret/ is a KV version 2 mount", tc.hint)
		if strings.Contains(res.stderr+res.stdout, "sk-do-123") {
			t.Errorf("%s: the value was echoed:\n%s", tc.args[0], res.stderr)
		}
	}
	// The server's own 404 explains itself to any client.
	res := r.run(2, "", "write", "secret/x", "a=b")
	wantContains(t, "server message", res.stderr, "this is not a KV version 2 API path", `use "kv put"`)

	// A real KV v2 path that is merely missing gets no hint, and the kv
	// command suggested works.
	res = r.run(2, "", "read", "secret/data/missing")
	if strings.Contains(res.stderr, "Try:") {
		t.Errorf("hint on a KV v2 API path:\n%s", res.stderr)
	}
	r.run(0, "", "kv", "put", "secret/digitalocean-api-key", "value=sk-do-123")
	res = r.run(0, "", "kv", "get", "-field=value", "secret/digitalocean-api-key")
	wantOutput(t, "kv get", res.stdout, "sk-do-123")
	// A KV version 1 mount keeps the 0.x verbs working as they were.
	r.run(0, "", "secrets", "enable", "-path=kv1", "kv")
	r.run(0, "", "write", "kv1/a", "value=b")
	res = r.run(0, "", "read", "-field=value", "kv1/a")
	wantOutput(t, "v1 read", res.stdout, "b")
}
