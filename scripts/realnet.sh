#!/usr/bin/env bash
# realnet.sh (make realnet): the README's "Real networks" table. One
# three-party call per network condition, each for $DURATION, through
# `threeway loadtest --impair` against a real `threeway serve` on
# loopback; prints a Markdown table of what each role measured.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
DURATION=${DURATION:-30s}
PORT=${PORT:-18090}
WORK=$(mktemp -d)

# The conditions: ROLE:SPEC as --impair takes it ("" for a clean network).
CONDITIONS=(
	""
	"customer:loss=5%,jitter=30ms"
	"customer:burst=4@2%"
	"customer:outage=3s@10s"
	"customer:udp=off"
	"customer:rate=400kbit"
	"all:delay=40ms,jitter=10ms"
)

go build -o bin/threeway ./cmd/threeway
KEY=realnet-key-of-at-least-thirty-two-bytes
./bin/threeway serve --listen "127.0.0.1:$PORT" --ice-interfaces lo --udp-port 0 --tcp-port 0 \
	--directory testdata/loadtest-directory.yaml --api-key "$KEY" --secret realnet-secret-of-at-least-thirty-two-bytes --log-level warn --drain 0s \
	>"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

i=0
for cond in "${CONDITIONS[@]}"; do
	args=()
	[ -n "$cond" ] && args=(--impair "$cond")
	./bin/threeway loadtest --server "http://127.0.0.1:$PORT" --api-key "$KEY" --calls 1 --ramp 2/s \
		--duration "$DURATION" --layout equal --slo-fps 0 --slo-latency-p99 0 \
		--json "$WORK/$i.json" "${args[@]}" >/dev/null 2>&1 || true
	i=$((i + 1))
done

python3 - "$WORK" "${#CONDITIONS[@]}" "${CONDITIONS[@]}" <<'PY'
import json, sys
work, n, conds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| condition | role | fps | its tile's fps | freezes | latency p99 | audio concealed | NACKs sent / received |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for i in range(n):
    try:
        r = json.load(open(f"{work}/{i}.json"))
    except OSError:
        print(f"| `{conds[i] or 'clean'}` | (run failed) | | | | | | |")
        continue
    for role in ("customer", "agent", "third"):
        p = r["per_role"].get(role)
        if not p:
            continue
        cond = f"`{conds[i]}`" if conds[i] else "clean"
        print(f"| {cond if role == 'customer' else ''} | {role}{' (impaired)' if p['network'] else ''} "
              f"| {p['fps_p50']:.1f} | {p['tile_fps_p50']:.1f} | {p['freezes']} | {p['latency_ms_p99']:.0f} ms "
              f"| {100 * p['audio_concealed_ratio']:.1f} % | {p['nacks_sent']} / {p['nacks_received']} |")
PY
