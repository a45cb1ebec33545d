#!/usr/bin/env bash
# Database down, for real: start `linli serve` on a fresh PostgreSQL database, stop
# the PostgreSQL cluster for DOWN_SECONDS (30), start it again, and probe /readyz, an
# API read and an API write every 0.5 s, printing status and latency.
#
# Exits nonzero when a promise is broken:
#   - while PostgreSQL is down, every probe answers 503 within 5 s (the API ones as
#     application/problem+json), never a 500 and never a hang;
#   - within 5 s of PostgreSQL accepting connections again, /readyz is 200 and reads
#     and writes succeed, with the same server process;
#   - every write acknowledged (201) at any time is stored, once.
#
# Local only: it stops the whole cluster, so run it when nothing else uses PostgreSQL.
# Needs root (or the postgres user) for pg_ctlcluster, psql and curl.
#
#   tests/reliability/db-down.sh            # DOWN_SECONDS=10 tests/reliability/db-down.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

DOWN_SECONDS=${DOWN_SECONDS:-${LINLI_DB_DOWN_SECONDS:-30}}
PROMISE=5
SERVER_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
VERSION=${PG_VERSION:-$(ls /etc/postgresql | sort -n | tail -n1)}
bin=${LINLI_BIN:-./target/debug/linli}
[ -x "$bin" ] || cargo build -p linli

work=$(mktemp -d)
db="linli_dbdown_$(date +%s)_$$"
db_url="${SERVER_URL%/*}/$db"
results="$work/results"
: >"$results"
pg_stopped=0

pg() { pg_ctlcluster --skip-systemctl-redirect "$VERSION" main "$1"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

cleanup() {
    if [ "$pg_stopped" = 1 ]; then echo "starting PostgreSQL again"; pg start || true; fi
    if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    psql -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

psql -q "$SERVER_URL" -c "CREATE DATABASE \"$db\"" >/dev/null
export DATABASE_URL="$db_url" LINLI_DATA_DIR="$work" LINLI_FRONTEND_DIR="$work/none"
"$bin" migrate up >/dev/null
echo "db-down-admin-1" | "$bin" user create --username dbdown.admin --role admin --password-stdin >/dev/null

LINLI_LOG_FORMAT=json "$bin" serve --no-demo --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
pid=$!
base=""
for _ in $(seq 1 240); do
    base=$(grep -o 'Linli is listening on http://[0-9.:]*' "$work/serve.log" | head -n1 | sed 's/.* on //' || true)
    [ -n "$base" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "linli serve exited:"; cat "$work/serve.log"; exit 1; }
    sleep 0.5
done
[ -n "$base" ] || { echo "linli serve did not start:"; tail -n 50 "$work/serve.log"; exit 1; }
token=$(curl -sf "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"dbdown.admin","password":"db-down-admin-1"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "could not log in"; exit 1; }
echo "linli serve (pid $pid) at $base over $db; PostgreSQL $VERSION down for ${DOWN_SECONDS}s"

phase=before
echo "$phase" >"$work/phase"
set_phase() { phase=$1; echo "$1" >"$work/phase"; echo "--- $1 at $(since "$t0")s"; }

# One probe, in the background: `phase start kind status seconds content-type name`.
probe() {
    local kind=$1 name=${2:-} started p out
    started=$(since "$t0")
    p=$(cat "$work/phase")
    case $kind in
        readyz) out=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total} %{content_type}' "$base/readyz") ;;
        read) out=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total} %{content_type}' \
            -H "authorization: Bearer $token" "$base/api/v1/communities") ;;
        write) out=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total} %{content_type}' \
            -H "authorization: Bearer $token" -H 'content-type: application/json' "$base/api/v1/communities" \
            -d "{\"name\":\"$name\",\"street\":\"劝业场街道\",\"district\":\"和平区\",\"boundary\":{\"type\":\"Polygon\",\"coordinates\":[[[117.19,39.11],[117.20,39.11],[117.20,39.12],[117.19,39.12],[117.19,39.11]]]}}") ;;
    esac
    [ -n "$out" ] || out="000 10.0 -"
    set -- $out
    local line
    line=$(printf '%-10s %7s %-6s %s %6s %s %s' "$p" "$started" "$kind" "$1" "$2" "${3:--}" "$name")
    echo "$line" >>"$results"
    echo "$line"
}

round=0
probes=()
probe_for() {
    local until=$1
    while awk -v a="$(now)" -v b="$until" 'BEGIN { exit !(a < b) }'; do
        round=$((round + 1))
        probe readyz &
        probes+=($!)
        probe read &
        probes+=($!)
        probe write "停机演练-$round" &
        probes+=($!)
        sleep 0.5
    done
}

t0=$(now)
probe_for "$(awk -v t="$(now)" 'BEGIN { print t + 3 }')"
set_phase stopping
pg_stopped=1
pg stop
set_phase down
down_until=$(awk -v t="$(now)" -v d="$DOWN_SECONDS" 'BEGIN { print t + d }')
probe_for "$down_until"
set_phase starting
start_at=$(since "$t0")
pg start
pg_stopped=0
back=$(now)
back_at=$(since "$t0")
set_phase up
probe_for "$(awk -v t="$(now)" 'BEGIN { print t + 10 }')"
wait "${probes[@]}"

# The verdict.
broken=$(awk -v back="$back_at" -v start_at="$start_at" -v promise="$PROMISE" '
    function fail(why) { print "BROKEN: " why ": " $0; n++ }
    {
        phase = $1; start = $2; kind = $3; status = $4; secs = $5; ctype = $6
        if (secs + 0 > promise) fail("slower than " promise " s")
        if (status == "500" || status == "000") fail("a 500 or no answer")
        # Judged as "down" only if it was answered before PostgreSQL was started again.
        if (phase == "down" && start + secs < start_at) {
            if (status != "503") fail("not 503 while the database is down")
            else if (kind != "readyz" && ctype != "application/problem+json") fail("503 without problem+json")
        }
        if (phase == "before" && status !~ /^20/) fail("failed before the outage")
        if (phase == "up" && start - back > promise && status !~ /^20/) fail("not recovered " promise " s after the database came back")
    }
    END { exit n > 0 }' "$results") && ok=1 || ok=0
[ -n "$broken" ] && echo "$broken"

first_ready=$(awk -v back="$back_at" '$1 == "up" && $3 == "readyz" && $4 == "200" { t = $2 + $5 - back; if (best == "" || t < best) best = t } END { print best }' "$results")
echo "readyz 200 ${first_ready:-never} s after PostgreSQL was back"
if [ -z "$first_ready" ] || awk -v t="$first_ready" -v p="$PROMISE" 'BEGIN { exit !(t > p) }'; then
    echo "BROKEN: /readyz not 200 within ${PROMISE} s of the database coming back"; ok=0
fi

acknowledged=$(awk '$3 == "write" && $4 == "201" { print $7 }' "$results" | sort)
stored=$(psql -qtA "$db_url" -c "SELECT name FROM communities WHERE name LIKE '停机演练-%'" | sort)
lost=$(comm -23 <(echo "$acknowledged" | sed '/^$/d') <(echo "$stored" | sort -u | sed '/^$/d'))
twice=$(echo "$stored" | sed '/^$/d' | uniq -d)
echo "writes: $(echo "$acknowledged" | sed '/^$/d' | wc -l) acknowledged, $(echo "$stored" | sed '/^$/d' | wc -l) stored"
[ -z "$lost" ] || { echo "BROKEN: acknowledged but not stored: $lost"; ok=0; }
[ -z "$twice" ] || { echo "BROKEN: stored twice: $twice"; ok=0; }
kill -0 "$pid" 2>/dev/null || { echo "BROKEN: linli serve is gone"; ok=0; }

[ "$ok" = 1 ] && echo "database down: every promise kept" || { echo "database down: promises broken"; exit 1; }
