#!/usr/bin/env bash
# Starts and stops a real single-node Slurm (munged, slurmctld, slurmd) on 127.0.0.1 without
# systemd, for the @toil/batch-slurm tests and `pnpm bench slurm`.
#
#   bash tooling/test-env/slurm.sh start     # idempotent; prints `export SLURM_CONF=...`
#   bash tooling/test-env/slurm.sh status    # exit 0 when the controller answers
#   bash tooling/test-env/slurm.sh stop [--purge]   # cancels jobs, stops daemons by pid file
#   bash tooling/test-env/slurm.sh env       # prints `export SLURM_CONF=...`
#   bash tooling/test-env/slurm.sh acquire PID   # start if needed and hold a lease for process PID
#   bash tooling/test-env/slurm.sh release PID   # drop PID's lease; the last holder stops Slurm
#
# Leases let several test workers and a benchmark share one cluster: each user acquires with
# its own pid and releases when done; leases of dead processes do not count. Start, stop and
# lease changes run under flock on $DIR/lock.
#
# Everything (slurm.conf, controller state, spool, logs, pid files, munge socket, jobcomp
# file) lives under $TOIL_TEST_SLURM_DIR (default /tmp/toil-ts-slurm); nothing in /etc is
# written. Clients find the cluster through SLURM_CONF=$TOIL_TEST_SLURM_DIR/slurm.conf.
# Needs root (slurmd runs as root, the other daemons as the munge and slurm users) and the
# Debian packages from install-system-deps.sh. Daemons are stopped by pid file, never by name.
set -euo pipefail

DIR="${TOIL_TEST_SLURM_DIR:-/tmp/toil-ts-slurm}"
CONF="$DIR/slurm.conf"
MUNGE_DIR="$DIR/munge"
MUNGE_SOCKET="$MUNGE_DIR/munge.socket.2"
MUNGE_PID="$MUNGE_DIR/munged.pid"
RUN_DIR="$DIR/run"
CTLD_PID="$RUN_DIR/slurmctld.pid"
SLURMD_PID="$RUN_DIR/slurmd.pid"
export SLURM_CONF="$CONF"

log() { echo "slurm.sh: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

alive() { # alive PIDFILE: the pid in the file is a running process
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# A daemon's parent here is not always an init that reaps, so a zombie counts as gone.
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s until it succeeds
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

stop_pidfile() { # stop_pidfile PIDFILE NAME: TERM, then KILL after 5 s
  local file=$1 name=$2 pid
  alive "$file" || {
    rm -f "$file"
    return 0
  }
  pid=$(cat "$file")
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for 5 "$name to stop" gone "$pid"; then
    log "$name ($pid) did not stop after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for 5 "$name to die" gone "$pid" || die "$name ($pid) survived SIGKILL"
  fi
  rm -f "$file"
}

munge_works() { munge -n --socket="$MUNGE_SOCKET" | unmunge --socket="$MUNGE_SOCKET"; }
controller_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
node_ready() { sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; }

cgroup_v1_memory() { # the v1 memory controller is mounted and we may create groups in it
  local probe=/sys/fs/cgroup/memory/toil-ts-probe.$$
  mount | grep -q ' /sys/fs/cgroup/memory type cgroup ' && mkdir "$probe" 2>/dev/null && rmdir "$probe"
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  # RealMemory above what slurmd detects drains the node ("Low RealMemory").
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  mem=$((mem - 512))
  if cgroup_v1_memory; then
    # Memory limits enforced by the kernel: an over-limit job ends OUT_OF_MEMORY, as on a
    # production cluster.
    TRACKING="ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1"
    printf '%s\n' CgroupPlugin=cgroup/v1 CgroupMountpoint=/sys/fs/cgroup ConstrainRAMSpace=yes \
      ConstrainSwapSpace=no >"$DIR/cgroup.conf"
  else
    log "WARNING: no writable cgroup v1 memory controller: memory limits are enforced by polling (over-limit jobs end FAILED, not OUT_OF_MEMORY)"
    TRACKING="ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill"
    rm -f "$DIR/cgroup.conf"
  fi
  cat >"$CONF.new" <<EOF
# Written by tooling/test-env/slurm.sh: a single-node test cluster on loopback.
ClusterName=toilts
SlurmctldHost=${host}(127.0.0.1)
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
# OverSubscribe: up to 4 jobs share a core, so a job starts when it is submitted instead of
# waiting for the next backfill pass (once a second, two jobs per pass on 2 cores). Memory is
# still accounted per job.
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
PartitionName=other Nodes=ALL Default=NO MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${MUNGE_SOCKET}
MpiDefault=none
${TRACKING}
AccountingStorageType=accounting_storage/none
# 'sacct -c' reads this file: the sacct code path is testable without slurmdbd.
JobCompType=jobcomp/filetxt
JobCompLoc=${DIR}/jobcomp.txt
MinJobAge=300
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without it every job without --mem gets the whole node's memory and jobs run one at a time.
DefMemPerCPU=256
# Default batch_sched_delay keeps each job PENDING for 2-3 s.
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10
KillWait=2
OverTimeLimit=0
MailProg=/bin/true
StateSaveLocation=${DIR}/state
SlurmdSpoolDir=${DIR}/spool
SlurmctldPidFile=${CTLD_PID}
SlurmdPidFile=${SLURMD_PID}
SlurmctldLogFile=${DIR}/log/slurmctld.log
SlurmdLogFile=${DIR}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
EOF
  mv "$CONF.new" "$CONF"
}

start() {
  [ "$(id -u)" = 0 ] || die "needs root (slurmd runs as root)"
  for bin in munged slurmctld slurmd sbatch squeue scontrol; do
    command -v "$bin" >/dev/null || [ -x "/usr/sbin/$bin" ] ||
      die "$bin is not installed: run 'bash tooling/test-env/install-system-deps.sh' as root"
  done
  if alive "$CTLD_PID" && alive "$SLURMD_PID" && alive "$MUNGE_PID" && controller_up; then
    wait_for 30 "node ready" node_ready || die "node not ready: $(sinfo -N 2>&1)"
    echo "export SLURM_CONF=$CONF"
    return 0
  fi
  # A half-running set (e.g. after a crash) is restarted as a whole.
  stop_daemons
  install -d -m 0755 "$DIR"
  install -d -o munge -g munge -m 0755 "$MUNGE_DIR"
  install -d -o slurm -g slurm -m 0755 "$DIR/state" "$DIR/log" "$RUN_DIR"
  # Nobody uses the cluster now: what earlier tests left in output/ can go.
  rm -rf "${DIR:?}/output"
  install -d -m 0755 "$DIR/spool" "$DIR/output"
  touch "$DIR/jobcomp.txt" && chown slurm:slurm "$DIR/jobcomp.txt"
  write_conf

  # 9>&-: a daemon must not inherit the lock, or the lock would be held for its lifetime.
  runuser -u munge -- /usr/sbin/munged --socket="$MUNGE_SOCKET" --pid-file="$MUNGE_PID" 9>&- \
    --log-file="$MUNGE_DIR/munged.log" --seed-file="$MUNGE_DIR/munged.seed" ||
    die "munged did not start: $(tail -5 "$MUNGE_DIR/munged.log" 2>/dev/null)"
  wait_for 10 munged munge_works ||
    die "munge does not answer on $MUNGE_SOCKET"

  # -i: tolerate missing state on the first start.
  /usr/sbin/slurmctld -i -f "$CONF" 9>&- || die "slurmctld did not start: $(tail -5 "$DIR/log/slurmctld.log")"
  wait_for 20 slurmctld controller_up || die "slurmctld does not answer: $(tail -5 "$DIR/log/slurmctld.log")"
  /usr/sbin/slurmd -f "$CONF" 9>&- || die "slurmd did not start: $(tail -5 "$DIR/log/slurmd.log")"
  # ReturnToService=2 brings a node back from DOWN once it registers.
  wait_for 30 "node ready" node_ready || die "node not ready: $(sinfo -N 2>&1); $(tail -5 "$DIR/log/slurmd.log")"
  echo "export SLURM_CONF=$CONF"
}

stop_daemons() {
  stop_pidfile "$SLURMD_PID" slurmd &
  stop_pidfile "$CTLD_PID" slurmctld &
  wait
  stop_pidfile "$MUNGE_PID" munged
}

stop() {
  if alive "$CTLD_PID" && controller_up; then
    # Jobs left behind would run again after the next start.
    local ids
    mapfile -t ids < <(squeue -h -o '%A' 2>/dev/null)
    [ ${#ids[@]} -eq 0 ] || scancel "${ids[@]}" 2>/dev/null || true
  fi
  stop_daemons
  if [ "${1:-}" = --purge ]; then
    rm -rf "${DIR:?}/state" "$DIR/spool" "$DIR/log" "$DIR/run" "$DIR/output" "$DIR/jobcomp.txt" "$DIR/leases"
  fi
}

LEASES="$DIR/leases"

acquire() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] || die "acquire needs a pid"
  start
  mkdir -p "$LEASES"
  touch "$LEASES/$1"
}

release() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] || die "release needs a pid"
  rm -f "$LEASES/$1"
  local lease
  for lease in "$LEASES"/*; do
    [ -e "$lease" ] || continue
    if ! gone "$(basename "$lease")"; then
      log "Slurm stays up: process $(basename "$lease") holds a lease"
      return 0
    fi
    rm -f "$lease"
  done
  stop
}

locked() { # locked COMMAND...: runs COMMAND holding the lock
  mkdir -p "$DIR"
  exec 9>"$DIR/lock"
  flock -w 300 9 || die "timed out waiting for $DIR/lock"
  "$@"
}

case "${1:-}" in
start) locked start ;;
acquire) locked acquire "${2:-}" ;;
release) locked release "${2:-}" ;;
stop) locked stop "${2:-}" ;;
status) controller_up && node_ready ;;
env) echo "export SLURM_CONF=$CONF" ;;
*)
  echo "usage: $0 start | stop [--purge] | acquire PID | release PID | status | env" >&2
  exit 2
  ;;
esac
