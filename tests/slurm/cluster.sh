#!/usr/bin/env bash
# A real Slurm cluster on this machine, for tests: munged, slurmctld and two slurmd
# (emulated nodes: this host's short name, which resolves, and the same name with `-2`),
# everything under one folder, on free ports, no systemd.
#
#   tests/slurm/cluster.sh start DIR   installs slurm-wlm and munge when missing, starts the
#                                      daemons, waits until both nodes are idle, writes
#                                      DIR/env (source it: SLURM_CONF, KINEMA_SLURM_NODES)
#   tests/slurm/cluster.sh stop DIR    stops every daemon it started, by PID; fails if one
#                                      is left running
#
# A failed start stops what it started. Needs root (packages, daemons as SlurmUser=root).
set -euo pipefail
cmd="${1:-}"
D="${2:-}"
if [ -z "$cmd" ] || [ -z "$D" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
say() { echo "[slurm-cluster] $*" >&2; }

stop_all() {
  local pid left=()
  [ -f "$D/pids" ] || return 0
  # Newest first: the nodes, then the controller, then munged.
  for pid in $(tac "$D/pids"); do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 50); do
    left=()
    for pid in $(cat "$D/pids"); do
      if kill -0 "$pid" 2>/dev/null; then left+=("$pid"); fi
    done
    [ ${#left[@]} -eq 0 ] && break
    sleep 0.1
  done
  for pid in ${left[@]+"${left[@]}"}; do
    say "daemon $pid ignored SIGTERM for 5 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -f "$D/pids"
  if [ ${#left[@]} -gt 0 ]; then
    return 1
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge (Debian packages, no recommends)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >"$D.apt.log" 2>&1; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm munge) >>"$D.apt.log" 2>&1 || {
        say "cannot install slurm-wlm and munge (see $D.apt.log): the Slurm tests need them"
        exit 1
      }
    fi
  fi
  mkdir -p "$D/spool" "$D/state" "$D/log"
  chmod 755 "$D"  # munged refuses a socket folder others cannot enter
  : > "$D/pids"
  trap 'stop_all; exit 1' ERR INT TERM
  local host n1 n2 ctld_port p1 p2 mem
  host="$(hostname -s)"
  # The first node is this host (its name resolves, so the ranks find the master by the
  # first name of SLURM_NODELIST as on a real cluster); the second is an extra name on the
  # same machine, which nothing connects to by name.
  n1="$host"
  n2="$host-2"
  if ! getent hosts "$n1" >/dev/null; then
    say "this host's name ($n1) does not resolve; add it to /etc/hosts"
    false
  fi
  ctld_port="$(free_port)"
  p1="$(free_port)"
  p2="$(free_port)"
  mungekey --create --keyfile="$D/munge.key" 2>/dev/null || mungekey -c -k "$D/munge.key"
  munged -F --key-file="$D/munge.key" --socket="$D/munge.socket" --pid-file="$D/munged.pid" \
    --seed-file="$D/munge.seed" --log-file="$D/log/munged.log" </dev/null >>"$D/log/munged.log" 2>&1 &
  echo $! >> "$D/pids"
  for _ in $(seq 50); do [ -S "$D/munge.socket" ] && break; sleep 0.1; done
  [ -S "$D/munge.socket" ] || { say "munged did not start (see $D/log/munged.log)"; false; }
  mem=1000
  cat > "$D/slurm.conf" <<CONF
ClusterName=kinema-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
EnforcePartLimits=ALL
MailProg=/bin/true
ReturnToService=2
MpiDefault=none
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.%n.log
KillWait=5
GresTypes=gpu
NodeName=$n1 NodeHostname=$n1 NodeAddr=127.0.0.1 Port=$p1 CPUs=2 RealMemory=$mem Gres=gpu:2
NodeName=$n2 NodeHostname=$n2 NodeAddr=127.0.0.1 Port=$p2 CPUs=2 RealMemory=$mem Gres=gpu:2
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  # Two GPU slots per node, so that MMAction2's `--gres=gpu:N` requests are scheduled as on a
  # GPU cluster; Slurm drops GPUs without device files, so they are two empty files (the
  # tasks run on the CPU).
  mkdir -p "$D/dev"
  touch "$D/dev/gpu0" "$D/dev/gpu1"
  printf "NodeName=%s,%s Name=gpu File=%s/dev/gpu[0-1]\n" "$n1" "$n2" "$D" > "$D/gres.conf"
  export SLURM_CONF="$D/slurm.conf"
  slurmctld -D -c -f "$SLURM_CONF" </dev/null >>"$D/log/slurmctld.out" 2>&1 &
  echo $! >> "$D/pids"
  for node in "$n1" "$n2"; do
    slurmd -D -N "$node" -f "$SLURM_CONF" </dev/null >>"$D/log/slurmd.$node.out" 2>&1 &
    echo $! >> "$D/pids"
  done
  local states=""
  for _ in $(seq 200); do
    states="$(sinfo -h -N -o '%N %t' 2>/dev/null | sort -u | tr '\n' ' ' || true)"
    if [ "$(echo "$states" | grep -o 'idle' | wc -l)" -ge 2 ]; then break; fi
    sleep 0.1
  done
  if [ "$(echo "$states" | grep -o 'idle' | wc -l)" -lt 2 ]; then
    say "the nodes did not become idle within 20 s: $states (logs in $D/log)"
    false
  fi
  cat > "$D/env" <<ENV
export SLURM_CONF=$D/slurm.conf
export KINEMA_SLURM_NODES=$n1,$n2
ENV
  trap - ERR INT TERM
  say "up: nodes $n1 and $n2 idle (SLURM_CONF=$D/slurm.conf)"
}

case "$cmd" in
  start) start ;;
  stop) stop_all || { say "a daemon had to be killed"; exit 1; } ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
