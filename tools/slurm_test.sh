#!/usr/bin/env bash
# Testing on a Slurm cluster, as MMAction2's script:
#   tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [TEST ARGS...]
# Environment: GPUS (8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS ("");
# MASTER_PORT: exported, or derived from the job id by tools/test; KINEMA_TEST_BIN replaces tools/test.
# See docs/distributed.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 4 ]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [ARGS...]" \
    "  (env: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS)" >&2
  exit 2
fi
PARTITION="$1"
JOB_NAME="$2"
CONFIG="$3"
CHECKPOINT="$4"
shift 4
GPUS="${GPUS:-8}"
GPUS_PER_NODE="${GPUS_PER_NODE:-8}"
CPUS_PER_TASK="${CPUS_PER_TASK:-5}"
read -r -a SRUN_EXTRA <<< "${SRUN_ARGS:-}"
# shellcheck source=tools/dist_common.sh
source "$ROOT/tools/dist_common.sh"
kinema_resolve_bins test
exec srun -p "$PARTITION" \
  --job-name="$JOB_NAME" \
  --gres="gpu:$GPUS_PER_NODE" \
  --ntasks="$GPUS" \
  --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="$CPUS_PER_TASK" \
  --kill-on-bad-exit=1 \
  ${SRUN_EXTRA[@]+"${SRUN_EXTRA[@]}"} \
  "$KINEMA_PROGRAM" "$CONFIG" --checkpoint "$CHECKPOINT" --launcher=slurm "$@"
