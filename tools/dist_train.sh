#!/usr/bin/env bash
# Multi-process training on one node (or one node of several), as MMAction2's script:
#   tools/dist_train.sh CONFIG GPUS [TRAIN ARGS...]
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500);
# KINEMA_TRAIN_BIN / KINEMA_LAUNCH_BIN replace tools/train / tools/launch.
# See docs/distributed.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 2 ]; then
  echo "usage: $0 CONFIG GPUS [ARGS...]   (env: NNODES, NODE_RANK, MASTER_ADDR, PORT)" >&2
  exit 2
fi
CONFIG="$1"
GPUS="$2"
shift 2
NNODES="${NNODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
PORT="${PORT:-29500}"
MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
# shellcheck source=tools/dist_common.sh
source "$ROOT/tools/dist_common.sh"
kinema_resolve_bins train launch
exec "$KINEMA_LAUNCH" --nnodes "$NNODES" --node-rank "$NODE_RANK" --master-addr "$MASTER_ADDR" \
  --nproc-per-node "$GPUS" --master-port "$PORT" -- "$KINEMA_PROGRAM" "$CONFIG" --launcher pytorch "$@"
