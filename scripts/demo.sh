#!/usr/bin/env bash
# The whole PaperVoice job, end to end, on simulated returns:
# print forms -> simulate filled-in, scanned returns -> scan -> status -> export.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-demo-output}
PV=".venv/bin/python -m pipeline"
rm -rf "$OUT"
mkdir -p "$OUT/printed" "$OUT/returns"
DB="$OUT/survey.db"

echo "== 1. The forms PaperVoice can print" >&2
$PV forms >&2

echo "== 2. Print forms (standard and large print), serials recorded in $DB" >&2
$PV generate care-planning-person --copies 3 -o "$OUT/printed/person-standard.pdf" --db "$DB" \
  --manifest "$OUT/printed/person-standard.csv" >/dev/null
$PV generate care-planning-person --copies 2 --large-print -o "$OUT/printed/person-large-print.pdf" --db "$DB" >/dev/null
$PV generate care-planning-practitioner --copies 2 -o "$OUT/printed/practitioner.pdf" --db "$DB" >/dev/null

echo "== 3. Simulate filled-in returns as an office scanner would produce them" >&2
$PV simulate care-planning-person care-planning-practitioner --copies 3 --seed 7 --db "$DB" \
  --output-dir "$OUT/returns" >/dev/null

echo "== 4. Scan the returns (run it twice: the second run adds nothing)" >&2
set +e
$PV scan "$OUT/returns/scans" --db "$DB" --debug-dir "$OUT/debug"
status=$?
$PV scan "$OUT/returns/scans" --db "$DB" -q
set -e
[ "$status" -le 1 ] || exit "$status"

echo "== 5. Where things stand" >&2
$PV status --db "$DB" >&2

echo "== 6. Export the workbook" >&2
$PV export -o "$OUT/results.xlsx" --db "$DB" --csv "$OUT/csv" >/dev/null

cat >&2 <<TXT

Done. Outputs:
  printed forms      $OUT/printed/
  simulated returns  $OUT/returns/
  ledger             $DB
  what the scanner saw  $OUT/debug/
  workbook           $OUT/results.xlsx
  CSV                $OUT/csv/
Settle the flagged answers with:  .venv/bin/papervoice review --db $DB
TXT
