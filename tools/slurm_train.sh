#!/usr/bin/env bash
# Training on a Slurm cluster, as MMAction2's script:
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [TRAIN ARGS...]
# (a 4th argument starting with "--" is a train argument, not a work dir).
# Environment: GPUS (8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS (""),
# MASTER_PORT (random in 12000-31999 unless set); KINEMA_TRAIN_BIN replaces tools/train.
# See docs/distributed.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 3 ]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG [WORK_DIR] [ARGS...]" \
    "  (env: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS)" >&2
  exit 2
fi
PARTITION="$1"
JOB_NAME="$2"
CONFIG="$3"
shift 3
WORK_DIR=""
if [ $# -gt 0 ] && [[ "$1" != --* ]]; then
  WORK_DIR="$1"
  shift
fi
GPUS="${GPUS:-8}"
GPUS_PER_NODE="${GPUS_PER_NODE:-8}"
CPUS_PER_TASK="${CPUS_PER_TASK:-5}"
read -r -a SRUN_EXTRA <<< "${SRUN_ARGS:-}"
# A random rendezvous port, so that several jobs sharing a node do not collide.
export MASTER_PORT="${MASTER_PORT:-$((12000 + RANDOM % 20000))}"
# shellcheck source=tools/dist_common.sh
source "$ROOT/tools/dist_common.sh"
kinema_resolve_bins train
TRAIN_ARGS=("$CONFIG")
if [ -n "$WORK_DIR" ]; then
  TRAIN_ARGS+=("--work-dir=$WORK_DIR")
fi
TRAIN_ARGS+=(--launcher=slurm "$@")
exec srun -p "$PARTITION" \
  --job-name="$JOB_NAME" \
  --gres="gpu:$GPUS_PER_NODE" \
  --ntasks="$GPUS" \
  --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="$CPUS_PER_TASK" \
  --kill-on-bad-exit=1 \
  ${SRUN_EXTRA[@]+"${SRUN_EXTRA[@]}"} \
  "$KINEMA_PROGRAM" "${TRAIN_ARGS[@]}"
