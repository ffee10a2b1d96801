#!/usr/bin/env bash
# bench.sh: the end-to-end budget figures for Tresor on this machine.
#
#   scripts/bench.sh [duration]        # default 10s per workload
#
# Builds tresor, starts a server with bolt ("file") storage in a temporary
# directory, initialises and unseals it with one key share, runs the budget
# workloads with "tresor bench" (health, kv-read, kv-write, token-lookup at
# -concurrency=32), and prints a markdown table with the server's RSS after
# the load, the stripped binary size and the time from starting
# "tresor server -dev" to its first sys/health 200.
#
# Environment: BENCH_DURATION (instead of the argument), BENCH_CONCURRENCY
# (32), BENCH_PORT (18200) and BENCH_DEV_PORT (18201) for the two servers.
# Needs Go, curl and Linux ps/date. Every process it starts is stopped on
# exit, also on Ctrl-C.
set -euo pipefail

duration=${1:-${BENCH_DURATION:-10s}}
concurrency=${BENCH_CONCURRENCY:-32}
port=${BENCH_PORT:-18200}
dev_port=${BENCH_DEV_PORT:-18201}
workloads=(health kv-read kv-write kv-list token-lookup token-create approle-login)

repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tresor-bench.XXXXXX")
pids=()

cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }
die() { log "bench.sh: $*"; exit 1; }

# health_code prints the HTTP status of sys/health at $1 (000: no answer).
health_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/v1/sys/health" || true
}

# wait_health waits up to 30s for sys/health at $1 to answer one of the
# statuses in $2 (a regular expression).
wait_health() {
	local deadline=$((SECONDS + 30))
	until [[ $(health_code "$1") =~ ^($2)$ ]]; do
		((SECONDS < deadline)) || die "no sys/health $2 from $1 within 30s (log: $tmp/*.log)"
		sleep 0.05
	done
}

# json_number prints the first number for "key": in JSON file $2.
json_number() {
	grep -o "\"$1\": *[-0-9.eE+]*" "$2" | head -n1 | sed 's/.*: *//'
}

# json_string prints the first string (or first array element) for "key".
json_string() {
	tr -d '\n\t ' <"$2" | grep -o "\"$1\":\[\{0,1\}\"[^\"]*\"" | head -n1 | sed 's/.*"\([^"]*\)"$/\1/'
}

command -v curl >/dev/null || die "curl is required"

log "building tresor (static, as the README builds it)"
(cd "$repo" && CGO_ENABLED=0 go build -o "$tmp/tresor" ./cmd/tresor) || die "build failed"
(cd "$repo" && CGO_ENABLED=0 go build -ldflags="-s -w" -o "$tmp/tresor-stripped" ./cmd/tresor) || die "stripped build failed"
bin=$tmp/tresor
binary_bytes=$(wc -c <"$tmp/tresor-stripped" | tr -d ' ')
"$bin" bench -h >/dev/null 2>&1 || die "this tresor has no bench command yet"

# Dev server start-up: from exec to the first sys/health 200.
log "timing tresor server -dev"
dev_addr=http://127.0.0.1:$dev_port
[[ $(health_code "$dev_addr") == 000 ]] || die "port $dev_port is in use (set BENCH_DEV_PORT)"
start_ns=$(date +%s%N)
"$bin" server -dev -dev-listen-address="127.0.0.1:$dev_port" -dev-no-store-token >"$tmp/dev.log" 2>&1 &
dev_pid=$!
pids+=("$dev_pid")
until [[ $(health_code "$dev_addr") == 200 ]]; do
	kill -0 "$dev_pid" 2>/dev/null || die "dev server exited (log: $tmp/dev.log)"
	(($(date +%s%N) - start_ns < 30000000000)) || die "dev server not healthy within 30s"
	sleep 0.005
done
startup_ms=$((($(date +%s%N) - start_ns) / 1000000))
kill "$dev_pid" && wait "$dev_pid" 2>/dev/null || true

# The measured server: bolt storage in the temporary directory.
addr=http://127.0.0.1:$port
[[ $(health_code "$addr") == 000 ]] || die "port $port is in use (set BENCH_PORT)"
cat >"$tmp/server.hcl" <<HCL
storage "file" {
  path = "$tmp/data"
}
listener "tcp" {
  address     = "127.0.0.1:$port"
  tls_disable = true
}
HCL
log "starting tresor server with file storage"
"$bin" server -config="$tmp/server.hcl" >"$tmp/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
wait_health "$addr" '501|503|200'

export VAULT_ADDR=$addr
"$bin" operator init -key-shares=1 -key-threshold=1 -format=json >"$tmp/init.json" || die "operator init failed"
unseal_key=$(json_string unseal_keys_b64 "$tmp/init.json")
root_token=$(json_string root_token "$tmp/init.json")
[[ -n $unseal_key && -n $root_token ]] || die "cannot read the init output"
"$bin" operator unseal "$unseal_key" >/dev/null || die "operator unseal failed"
wait_health "$addr" 200
export VAULT_TOKEN=$root_token

# metric prints a counter from the server's Prometheus metrics.
metric() {
	curl -s -H "X-Vault-Token: $root_token" "$addr/v1/sys/metrics?format=prometheus" |
		awk -v m="$1" '$1 == m { print $2 }'
}

for w in "${workloads[@]}"; do
	log "running $w for $duration"
	[[ $w == kv-write ]] && { commits0=$(metric tresor_storage_commits_total); writes0=$(metric tresor_storage_writes_total); }
	"$bin" bench -workload="$w" -concurrency="$concurrency" -duration="$duration" -format=json >"$tmp/$w.json" ||
		die "bench $w failed"
	[[ $w == kv-write ]] && { commits1=$(metric tresor_storage_commits_total); writes1=$(metric tresor_storage_writes_total); }
done
rss_kib=$(ps -o rss= -p "$server_pid" | tr -d ' ')

# Audit overhead: kv-read again with a file audit device enabled.
log "running kv-read with a file audit device"
"$bin" audit enable -path=bench-audit file file_path="$tmp/audit.log" >/dev/null || die "audit enable failed"
"$bin" bench -workload=kv-read -concurrency="$concurrency" -duration="$duration" -format=json >"$tmp/kv-read-audit.json" ||
	die "bench kv-read with audit failed"
"$bin" audit disable bench-audit >/dev/null || true
workloads+=(kv-read-audit)

health_rps=$(json_number requests_per_second "$tmp/health.json")
echo
echo "Tresor $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo dev), file storage, -concurrency=$concurrency, $duration per workload, $(nproc 2>/dev/null || echo '?') CPUs"
echo
echo "| workload | req/s | × health | p50 ms | p99 ms | p99.9 ms | max ms | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for w in "${workloads[@]}"; do
	f=$tmp/$w.json
	awk -v w="$w" -v rps="$(json_number requests_per_second "$f")" -v h="$health_rps" \
		-v p50="$(json_number p50 "$f")" -v p99="$(json_number p99 "$f")" -v p999="$(json_number p99_9 "$f")" \
		-v mx="$(json_number max "$f")" -v errs="$(json_number errors "$f")" \
		'BEGIN { printf "| %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %d |\n", w, rps, (h > 0 ? rps / h : 0), p50, p99, p999, mx, errs }'
done
echo
awk -v rss="$rss_kib" -v size="$binary_bytes" -v ms="$startup_ms" 'BEGIN {
	printf "| measure | value |\n|---|---:|\n"
	printf "| server RSS after load | %.1f MiB |\n", rss / 1024
	printf "| binary size (stripped) | %.1f MiB |\n", size / 1048576
	printf "| server -dev start to first sys/health 200 | %d ms |\n", ms
}'
awk -v c0="${commits0:-0}" -v c1="${commits1:-0}" -v w0="${writes0:-0}" -v w1="${writes1:-0}" \
	-v r="$(json_number requests_per_second "$tmp/kv-read.json")" -v ra="$(json_number requests_per_second "$tmp/kv-read-audit.json")" 'BEGIN {
	if (w1 > w0) printf "| fsyncs per KV write (kv-write) | %.3f |\n", (c1 - c0) / (w1 - w0)
	if (r > 0) printf "| file audit cost on kv-read | %.0f%% |\n", (1 - ra / r) * 100
}'
