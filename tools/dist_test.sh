#!/usr/bin/env bash
# Multi-process testing on one node (or one node of several), as MMAction2's script:
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [TEST ARGS...]
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500);
# KINEMA_TEST_BIN / KINEMA_LAUNCH_BIN replace tools/test / tools/launch.
# See docs/distributed.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 3 ]; then
  echo "usage: $0 CONFIG CHECKPOINT GPUS [ARGS...]   (env: NNODES, NODE_RANK, MASTER_ADDR, PORT)" >&2
  exit 2
fi
CONFIG="$1"
CHECKPOINT="$2"
GPUS="$3"
shift 3
NNODES="${NNODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
PORT="${PORT:-29500}"
MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
# shellcheck source=tools/dist_common.sh
source "$ROOT/tools/dist_common.sh"
kinema_resolve_bins test launch
exec "$KINEMA_LAUNCH" --nnodes "$NNODES" --node-rank "$NODE_RANK" --master-addr "$MASTER_ADDR" \
  --nproc-per-node "$GPUS" --master-port "$PORT" -- \
  "$KINEMA_PROGRAM" "$CONFIG" --checkpoint "$CHECKPOINT" --launcher pytorch "$@"
