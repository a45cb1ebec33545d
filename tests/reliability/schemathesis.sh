#!/usr/bin/env bash
# Property-based API tests: Schemathesis reads the live OpenAPI document of a real
# `linli serve` and fires generated requests at every operation, once anonymously and
# once for each demo role with that role's bearer token, with every check but one
# (positive_data_acceptance; the reason is at its flag below).
#
# Each run gets its own server on its own copy of a freshly seeded demo database, so
# one role's random writes (closed alarms, cancelled tasks, spent balances) never
# starve another role's run.
#
#   tests/reliability/schemathesis.sh                  # all runs, 50 examples per operation
#   SCHEMATHESIS_MAX_EXAMPLES=5 tests/reliability/schemathesis.sh
#   SCHEMATHESIS_ROLES="anonymous worker" tests/reliability/schemathesis.sh
#
# Also: SCHEMATHESIS_SEED (a number: the same cases again), SCHEMATHESIS_WORKERS
# (default 1), LINLI_BIN (default target/debug/linli, which is built first).
# Reports (JUnit XML and the output of each run) land in target/reliability/<role>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

schemathesis_version=4.32.5
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-50}
# One worker: with two, Hypothesis parses lambdas' source from both threads at once,
# which CPython before 3.11.8 can fail with "AST constructor recursion depth mismatch".
workers=${SCHEMATHESIS_WORKERS:-1}
roles=${SCHEMATHESIS_ROLES:-anonymous admin worker caregiver volunteer bureau}
password=linli-demo
out="$root/target/reliability"
venv="$out/venv"
bin=${LINLI_BIN:-$root/target/debug/linli}

mkdir -p "$out"
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null || true)" != "schemathesis, version $schemathesis_version" ]; then
    echo "installing schemathesis $schemathesis_version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi
# Brought up to date first (a no-op when it is), unless LINLI_BIN names another binary.
[ -n "${LINLI_BIN:-}" ] || cargo build -p linli

work=$(mktemp -d)
pid=""
log=""
stop_server() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    pid=""
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Settings shared by every server: a fixed data key so each copy of the template can
# read the ID numbers the seed protected with it, no frontend, no settings file.
export LINLI_SECRET_KEY
LINLI_SECRET_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
export LINLI_DATA_DIR="$work" LINLI_FRONTEND_DIR="$work/no-frontend" LINLI_LOG_FORMAT=json

echo "seeding the demo district once"
seed_started=$SECONDS
(cd "$work" && DATABASE_URL="sqlite://$work/template.db?mode=rwc" "$bin" seed demo >"$work/seed.log" 2>&1) || {
    echo "seeding failed:"
    tail -n 50 "$work/seed.log"
    exit 1
}
echo "seeded in $((SECONDS - seed_started)) s"
# The seed leaves part of its writes in the write-ahead log beside the file; fold them
# in, so that a copy of the file alone is the whole database (a copy without its log
# can be torn: "database disk image is malformed").
python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()' "$work/template.db"

# Schemathesis settings the command line cannot give.
config="$work/schemathesis.toml"
cat >"$config" <<'TOML'
[auth]
# Schemathesis takes `POST /api/v1/users` for a public sign-up and would create an
# account and log in with it before the anonymous run; the anonymous run must stay
# anonymous, and the roles bring their own tokens.
auto-signup = false

[checks.negative_data_rejection]
# Schemathesis's list plus 413: a body past `max_body_bytes` is refused before its
# fields are read (a `rules` text of 200,000 characters escaped as \uXXXX is over
# 1 MiB), and 413 is a rejection as much as 422 is.
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]
TOML

# Starts `linli serve` on a copy of the template, on a port the kernel picks; sets
# `base` once /readyz answers 200.
start_server() {
    local name=$1
    cp "$work/template.db" "$work/$name.db"
    log="$out/$name/server.log"
    (cd "$work" && DATABASE_URL="sqlite://$work/$name.db?mode=rw" exec "$bin" serve --listen 127.0.0.1:0 --no-demo) \
        >"$log" 2>&1 &
    pid=$!
    base=""
    for _ in $(seq 1 600); do
        if [ -z "$base" ]; then
            base=$(grep -o 'Linli is listening on http://[0-9.:]*' "$log" | head -n1 | sed 's/.* on //' || true)
        fi
        if [ -n "$base" ] && curl -fsS -o /dev/null "$base/readyz"; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "linli serve exited:"
            tail -n 50 "$log"
            return 1
        fi
        sleep 0.2
    done
    echo "linli serve did not become ready:"
    tail -n 50 "$log"
    return 1
}

login() {
    curl -fsS -H 'Content-Type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$password\"}" "$base/api/v1/auth/login" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

# Runs Schemathesis as one role (with its token, when it has one) and returns its exit code.
run_schemathesis() {
    local role=$1 token=$2
    local args=(
        run "$base/api/openapi.json"
        --checks all
        # positive_data_acceptance wants every schema-valid request answered 2xx, and
        # the rest of its failures are not the API breaking its document: (1) rules
        # that JSON Schema cannot state, each a 422 naming its field: cross-field
        # (`to` before `from`, a guardian's name only for a guardian's consent),
        # references to rows that must exist (`senior_id`, `from_account_id`),
        # checksums (`id_number`), the service area, template answers; (2) OpenAPI
        # 3.1 `format` is only an annotation, so Schemathesis counts "" as a valid
        # `date`/`date-time`; (3) JSON Schema counts 4.0 as an `integer`, serde's
        # integers do not. Length and range limits are in the document and were
        # checked with it on; every other check stays.
        --exclude-checks positive_data_acceptance
        --max-examples "$max_examples"
        --workers "$workers"
        --request-timeout 30
        --generation-database none
        --report junit --report-dir "$out/$role"
        --no-color
    )
    [ -n "${SCHEMATHESIS_SEED:-}" ] && args+=(--seed "$SCHEMATHESIS_SEED")
    if [ "$role" != anonymous ]; then
        args+=(
            -H "Authorization: Bearer $token"
            # Logging out and changing one's own password revoke the very token the
            # rest of the run authenticates with.
            --exclude-path /api/v1/auth/logout
            --exclude-path /api/v1/auth/password
            # A server-sent event stream never ends, and Schemathesis reads a whole
            # body before it checks anything. Anonymous callers still get their 401.
            --exclude-path /api/v1/events
        )
    fi
    (cd "$out/$role" && "$venv/bin/schemathesis" --config-file "$config" "${args[@]}")
}

declare -A result seconds
failed=0
for role in $roles; do
    rm -rf "${out:?}/$role"
    mkdir -p "$out/$role"
    echo
    echo "=== $role ($max_examples examples per operation)"
    started=$SECONDS
    start_server "$role"
    token=""
    if [ "$role" != anonymous ]; then
        token=$(login "$role") || { echo "logging in as $role failed"; tail -n 40 "$log"; exit 1; }
    fi
    if run_schemathesis "$role" "$token" 2>&1 | tee "$out/$role/schemathesis.log"; then
        result[$role]=passed
    else
        result[$role]=FAILED
        failed=1
        echo "--- last lines of the server log ($log)"
        tail -n 40 "$log"
    fi
    seconds[$role]=$((SECONDS - started))
    stop_server
done

echo
echo "=== summary (max $max_examples examples per operation; reports in $out/<role>/)"
for role in $roles; do
    # Schemathesis's summary: "Tested: 120" under "API Operations:", then "Test cases:"
    # followed by "4321 generated, 4300 passed" or "..., 21 found 23 unique failures".
    summary=$(awk '
        /^API Operations:/ { ops = 1; next }
        ops && /Tested:/ { tested = $2; ops = 0 }
        /^Test cases:/ { getline; sub(/^ +/, ""); cases = $0 }
        END { printf "%s operations tested; test cases: %s", tested == "" ? "?" : tested, cases == "" ? "?" : cases }
    ' "$out/$role/schemathesis.log")
    printf '%-10s %-6s %5ss  %s\n' "$role" "${result[$role]}" "${seconds[$role]}" "$summary"
done
exit "$failed"
