#!/usr/bin/env bash
# The load table of docs/benchmarks.md: every scenario of linli-load against a
# running Linli, first at a fixed rate (latency), then closed loop with 32 clients
# (capacity, as a ratio of an actix-web hello-world handler measured the same way
# right after each run).
#
#   tests/load/suite.sh http://127.0.0.1:8080 [DATABASE_URL] [OUT_DIR]
#
# With DATABASE_URL the alarm run also reads the server's own records: intake to
# offers queued and to the first push attempt, per alarm.
set -euo pipefail
cd "$(dirname "$0")/../.."

base=${1:?usage: tests/load/suite.sh BASE [DATABASE_URL] [OUT_DIR]}
db=${2:-}
out=${3:-target/load}
seconds=${LOAD_SECONDS:-20}
mkdir -p "$out"
load=${LINLI_LOAD:-./target/release/linli-load}
[ -x "$load" ] || cargo build --release -p linli-tests --bin linli-load

run() {
    local name=$1; shift
    echo "== $name: linli-load $*"
    "$load" --base "$base" --json "$out/$name.json" "$@"
}

records=()
[ -n "$db" ] && records=(--database-url "$db")
run alarms --scenario alarms --rate 50 --seconds "$seconds" "${records[@]}"
run locations --scenario locations --rate 100 --seconds "$seconds"
run board --scenario board --rate 50 --seconds "$seconds"
run reports --scenario reports --rate 20 --seconds "$seconds"
run mixed --scenario mixed --rate 100 --seconds $((seconds * 3 / 2))
for scenario in alarms locations board reports mixed; do
    run "$scenario-capacity" --scenario "$scenario" --rate 0 --concurrency 32 --seconds 10
done
echo "results in $out/"
