# Sourced by tools/dist_{train,test}.sh and tools/slurm_{train,test}.sh; not a command.
# Expects ROOT (the repository root).

# kinema_resolve_bins train|test [launch]
# Sets KINEMA_PROGRAM to the binary every rank runs: $KINEMA_TRAIN_BIN / $KINEMA_TEST_BIN, or
# tools/train / tools/test. With "launch", also sets KINEMA_LAUNCH: $KINEMA_LAUNCH_BIN or
# tools/launch. The tools/* launchers are built here, once, and KINEMA_NO_BUILD=1 is
# exported so that the ranks (on every node, for Slurm) run the built binary instead of
# all calling cargo at the same time.
kinema_resolve_bins() {
  local tool="$1" override
  case "$tool" in
    train) override="${KINEMA_TRAIN_BIN:-}" ;;
    test) override="${KINEMA_TEST_BIN:-}" ;;
    *) echo "kinema_resolve_bins: expected train or test, got '$tool'" >&2; return 2 ;;
  esac
  KINEMA_PROGRAM="${override:-$ROOT/tools/$tool}"
  local build=""
  [ -n "${KINEMA_NO_BUILD:-}" ] || build=1
  if [ -z "$override" ] && [ -n "$build" ]; then
    "$KINEMA_PROGRAM" --version >/dev/null
  fi
  if [ "${2:-}" = launch ]; then
    KINEMA_LAUNCH="${KINEMA_LAUNCH_BIN:-$ROOT/tools/launch}"
    if [ -z "${KINEMA_LAUNCH_BIN:-}" ] && [ -n "$build" ]; then
      "$KINEMA_LAUNCH" --version >/dev/null
    fi
  fi
  export KINEMA_NO_BUILD=1
}
