// Package bench is "tresor bench", an end-to-end load generator for any
// Vault-compatible server: Tresor, Vault or OpenBao. It is an ordinary HTTP
// client and imports no server package, so its figures include everything a
// real client pays for — TLS, HTTP parsing, the request pipeline and storage.
//
//	tresor bench -workload=kv-read -concurrency=32 -duration=30s
//	tresor bench -workload=kv-write -rate=2000 -format=json
//	tresor bench -workload=token-lookup -compare-health
//
// The server and token come from -address/-token, else TRESOR_ADDR/
// TRESOR_TOKEN, else VAULT_ADDR/VAULT_TOKEN. The token must be allowed to
// mount engines and auth methods (a root token is simplest); the health
// workload needs none.
//
// Every run works under a throwaway name, "<mount-prefix><random hex>": the
// KV workloads mount a KV version 2 engine there and preload -keys secrets
// of -value-size bytes; the login workloads enable approle or userpass at
// auth/<name>/; the token workloads create a parent token whose children
// they are. Everything is removed at the end, also after Ctrl-C.
//
// By default the run is a closed loop: -concurrency workers each send their
// next request as soon as the previous one is answered, which finds the
// throughput ceiling. With -rate=N it is an open loop: requests are due on a
// fixed schedule of N per second, and latency is measured from the time a
// request was due, not from when a busy worker got round to sending it, so
// a stalled server shows up in the tail instead of hiding (no coordinated
// omission).
//
// The report gives requests per second, errors by HTTP status ("transport"
// for requests that got no response) and latency percentiles from an HDR
// histogram; -format=json prints the same for machines. -compare-health
// also measures sys/health, closed loop with the same concurrency and
// duration, and prints each workload's rate as a ratio to it: the HTTP floor
// of this machine and server, against which a workload's own cost shows.
//
// Exit codes: 0 the run completed (the report shows any request errors),
// 1 bad flags, 2 setup or teardown failed, 130 interrupted.
//
// A workload is one file: a type implementing Workload and an entry in the
// workloads table.
package bench
