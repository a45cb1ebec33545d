#!/usr/bin/env bash
# Browser tests: start the real `linli serve` on a fresh SQLite database with the demo
# district, on a free port, and drive it with Playwright in Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bin=${LINLI_BIN:-./target/debug/linli}
[ -x "$bin" ] || cargo build -p linli
work=$(mktemp -d)
log="$work/serve.log"
cleanup() {
    if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    # Kept for the privacy scan of the run's logs.
    mkdir -p "$root/target/test-logs" && cp "$log" "$root/target/test-logs/e2e-serve.log" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

LINLI_DATA_DIR="$work" \
DATABASE_URL="sqlite://$work/linli.db?mode=rwc" \
LINLI_FRONTEND_DIR="$PWD/frontend/dist" \
LINLI_LOG_FORMAT=json \
  "$bin" serve --listen 127.0.0.1:0 >"$log" 2>&1 &
pid=$!

# The server prints its address once the demo is seeded and it is listening.
base=""
for _ in $(seq 1 600); do
    base=$(grep -o 'Linli is listening on http://[0-9.:]*' "$log" | head -n1 | sed 's/.* on //' || true)
    [ -n "$base" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then echo "linli serve exited:"; cat "$log"; exit 1; fi
    sleep 0.5
done
[ -n "$base" ] || { echo "linli serve did not start in time:"; tail -n 50 "$log"; exit 1; }
echo "browser tests against $base"

cd frontend
# E2E_FILES=e2e/some.test.mjs runs only those files.
if [ -n "${E2E_FILES:-}" ]; then
    LINLI_BASE_URL="$base" node --test ${E2E_FILES}
else
    LINLI_BASE_URL="$base" npm run --silent test:e2e
fi
