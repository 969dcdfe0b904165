#!/usr/bin/env bash
# A training job that survives preemption and time limits, for `sbatch`:
#   sbatch [sbatch options] tools/slurm_batch.sh CONFIG WORK_DIR [TRAIN ARGS...]
# e.g. sbatch -p gpu -N 2 --ntasks-per-node 8 --gres gpu:8 --cpus-per-task 5 \
#        tools/slurm_batch.sh configs/recognition/tsm/tsm_...py.toml work_dirs/tsm
#
# Slurm sends SIGUSR1 to every task 120 s before the time limit (or on
# `scancel --signal=USR1 JOBID`); the trainers finish the current iteration, rank 0 writes
# a checkpoint, and they exit with status 75. This script then requeues the job
# (`scontrol requeue`), and the requeued run resumes from WORK_DIR/last_checkpoint
# (`--resume` starts fresh when there is none). Any other failure ends the job.
# Environment: KINEMA_TRAIN_BIN replaces tools/train; SRUN_ARGS adds srun options.
#SBATCH --job-name=kinema-train
#SBATCH --signal=USR1@120
#SBATCH --requeue
#SBATCH --open-mode=append
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: sbatch [options] $0 CONFIG WORK_DIR [ARGS...]" >&2
  exit 2
fi
ROOT="${SLURM_SUBMIT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
CONFIG="$1"
WORK_DIR="$2"
shift 2
read -r -a SRUN_EXTRA <<< "${SRUN_ARGS:-}"
TRAIN="${KINEMA_TRAIN_BIN:-$ROOT/tools/train}"
echo "[slurm_batch] job ${SLURM_JOB_ID:-?} (restart ${SLURM_RESTART_COUNT:-0}) on ${SLURM_JOB_NODELIST:-?}: $CONFIG -> $WORK_DIR"
srun --kill-on-bad-exit=1 ${SRUN_EXTRA[@]+"${SRUN_EXTRA[@]}"} \
  "$TRAIN" "$CONFIG" --work-dir "$WORK_DIR" --launcher slurm --resume "$@"
status=$?
if [ "$status" -eq 75 ]; then
  echo "[slurm_batch] stopped by a signal with its state saved: requeueing job $SLURM_JOB_ID"
  scontrol requeue "$SLURM_JOB_ID"
  exit 0
fi
exit "$status"
