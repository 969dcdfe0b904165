#!/usr/bin/env bash
# GPU check: runs every in-tree project's device check (projects/*/tools/device_check.sh),
# one after the other, each a short prepared run (see the project's script). CI has no GPU
# and never runs this; run it on a machine with one.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
status=0
for check in projects/*/tools/device_check.sh; do
  [ -x "$check" ] || continue
  echo "=== $check"
  "$check" || status=$?
done
exit "$status"
