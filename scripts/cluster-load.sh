#!/usr/bin/env bash
# cluster-load.sh (make cluster-load): the README's "A cluster" figures.
# A redis-server and three `threeway serve` nodes, each its own process,
# on loopback; one load test through all three (calls created through
# each node in turn, parties joining through the next, helpers' consoles
# signed in on each node in turn and offered help for calls on any node);
# prints the summary and its per-node table. Run it in a loopback-only
# network namespace (the Makefile does).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
CALLS=${CALLS:-6}
DURATION=${DURATION:-20s}
REDIS_PORT=${REDIS_PORT:-16379}
WORK=$(mktemp -d)
KEY=bench-key-of-at-least-thirty-two-bytes-long
SECRET=bench-secret-of-at-least-thirty-two-bytes

go build -o bin/threeway ./cmd/threeway
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
SERVERS=""
for n in 1 2 3; do
	./bin/threeway serve --redis "redis://127.0.0.1:$REDIS_PORT/0" --node-id "n$n" \
		--listen "127.0.0.1:1808$n" --udp-port 0 --tcp-port 0 --ice-interfaces lo \
		--directory testdata/loadtest-directory.yaml --api-key "$KEY" --secret "$SECRET" \
		--log-level info --drain 0s >"$WORK/n$n.log" 2>&1 &
	PIDS+=($!)
	SERVERS="$SERVERS${SERVERS:+,}http://127.0.0.1:1808$n"
done
for n in 1 2 3; do
	for _ in $(seq 50); do curl -sf "http://127.0.0.1:1808$n/readyz" >/dev/null && break; sleep 0.1; done
done
./bin/threeway loadtest --server "$SERVERS" --api-key "$KEY" --calls "$CALLS" --ramp 2/s \
	--duration "$DURATION" --layout equal --json "$WORK/cluster.json" --slo-fps 0.9 --slo-latency-p99 250ms || true
echo
echo "| node | calls | server CPU-s per call-s |"
echo "| --- | --- | --- |"
jq -r '.summary.per_node | to_entries | sort_by(.key)[] | "| \(.key) | \(.value.calls) | \(.value.server_cpu_s_per_call_s * 1000 | round / 1000) |"' "$WORK/cluster.json"
echo
echo "helpers who accepted a call on another node than their console's: $(cat "$WORK"/n?.log | grep -c "console carried on to the call's node" || true) of $CALLS"
