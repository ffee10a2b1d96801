// Package agent gets secrets into services. It is a client of the server's
// /v1 API through github.com/hashicorp/vault/api only, so it works against
// Tresor and Vault alike, and it backs three commands:
//
//	tresor run -- ./server          # references in the environment resolved
//	tresor inject -in a -out /dev/shm/b
//	tresor agent -config=agent.hcl  # Vault Agent's configuration
//	tresor agent -registry=registry.yml -machine=m1  # Portoser's registry
//
// It keeps consul-template's four ideas in four places, tied by small
// loops (Run for "tresor run", Agent.Run for the agent):
//
//   - What to fetch: a [Dependency] is one request (an API path, a KV
//     version, write parameters). A [Ref] such as tresor://secret/app#pw is
//     bound to one by a [Resolver], which learns each mount's KV version
//     from sys/internal/ui/mounts. Every reference, template or env var
//     naming the same path shares one Dependency, so a path is read once.
//   - When to fetch again: a [Watcher] caches the answers and refreshes
//     each dependency in its own goroutine — static secrets every interval,
//     leased ones renewed through sys/leases/renew at two thirds of the
//     lease and fetched anew when renewal fails or the max TTL nears —
//     backing off while the server is down. A [Keeper] does the same for
//     the token a [Method] logs in with, writing each new one to its sinks.
//   - How to render: a [Template] (consul-template's language) and
//     [EnvRefs] render from the watcher's cache only; a template asking for
//     a secret not yet cached reports it as a dependency and is incomplete.
//   - Whom to restart: a [Child] runs the service, forwards signals, and
//     stops it with a signal and a grace period before a restart.
//
// For a Portoser registry ([LoadRegistry]), [Supervise] runs one
// machine's services: each gets exactly the variables its vault_secrets,
// vault_dynamic and vault_certs name, and rotation restarts only the
// services whose values changed, one at a time behind their
// health_command, rolling back when the check fails.
//
// Errors name references and paths, never values; the [MaskWriter]
// conceals values in a child's output on request.
package agent
