#!/usr/bin/env bash
# Long linearizability run of a three-node Raft cluster under faults
# (freeze, cluster-port cut, kill/restart), checked with porcupine.
# Usage: scripts/linearizability.sh [SECONDS]   (default 120)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-120}"
TRESOR_LINEARIZABILITY_SECONDS="$secs" go test -count=1 -timeout "$((secs * 3 + 300))s" \
  -run '^TestLinearizability$' -v ./internal/server
