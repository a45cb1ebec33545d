#!/usr/bin/env bash
# After a test run: no log line may hold a resident ID number or a phone number.
# Reads the logs the API tests' servers wrote (target/test-logs/, JSON lines at
# debug level for our own code) and the browser tests' server log, and looks for
# the planted values of tests/planted.txt and for anything shaped like a mainland
# ID number or mobile number.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-target/test-logs}
shopt -s nullglob
logs=("$dir"/*.log)
if [ ${#logs[@]} -eq 0 ]; then
    echo "privacy scan: no logs in $dir (run the tests first)"
    exit 1
fi
lines=$(cat "${logs[@]}" | wc -l)
if [ "$lines" -lt 1000 ]; then
    echo "privacy scan: only $lines log lines in $dir; were the logs captured?"
    exit 1
fi

found=0
report() {
    echo "privacy scan: $1"
    printf '%s\n' "$2" | head -n 5 | cut -c1-300
    found=1
}

while IFS= read -r value; do
    case "$value" in ''|'#'*) continue ;; esac
    if hits=$(grep -F -h -- "$value" "${logs[@]}"); then
        report "planted value ${value:0:3}… found in the logs" "$hits"
    fi
done < tests/planted.txt

# An 18-character ID number (6-digit area, birth date, sequence, check character)
# and an 11-digit mobile number, standing alone: not inside a longer run of
# letters and digits (request ids and keys are hex).
id_number='(?<![0-9A-Za-z])[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9A-Za-z])'
mobile='(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])'
for pattern in "$id_number" "$mobile"; do
    if hits=$(grep -P -h -- "$pattern" "${logs[@]}"); then
        report "a number shaped like personal data (${pattern:0:20}…)" "$hits"
    fi
done

if [ "$found" -ne 0 ]; then
    exit 1
fi
echo "privacy scan: ${#logs[@]} logs, $lines lines, no ID numbers or phone numbers"
