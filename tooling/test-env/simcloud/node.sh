#!/usr/bin/env bash
# The machine side of the simulated cloud (see README.md next to this file): a run's bridge,
# and nodes made of a network namespace + a persistent mount and UTS namespace. Needs root,
# iproute2 (`ip`), util-linux (`unshare`, `nsenter`). Called by simcloud.ts; every name it
# gets is unique to one run. It kills processes only by pid: those `ip netns pids` lists for
# a namespace this run made.
#
#   node.sh run-up RUN_DIR BRIDGE GATEWAY PREFIX          # bridge with the gateway address
#   node.sh node-up RUN_DIR NODE NETNS VETH BRIDGE ADDR PREFIX HOSTNAME
#   node.sh exec RUN_DIR NODE NETNS -- COMMAND...          # run COMMAND inside the node
#   node.sh node-down RUN_DIR NODE                         # kill its processes, remove it
#   node.sh run-down RUN_DIR                               # every node, the bridge, the dir
#
# Layout: RUN_DIR/ns (a private bind mount holding the persisted mount/UTS namespaces),
# RUN_DIR/nodes/NODE/{meta,ov/*} (overlay upper dirs), RUN_DIR/hosts (the run's /etc/hosts),
# RUN_DIR/meta (the bridge name).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
  echo "simcloud node.sh: $*" >&2
  exit 1
}

# Directories a node sees as its own copy of this machine's (overlay: reads fall through,
# writes stay in the node): stage 2 installs packages, writes /etc/slurm, /etc/munge, users.
OVERLAYS=(etc usr/local var root opt)

run_up() {
  local run_dir=$1 bridge=$2 gateway=$3 prefix=$4
  mkdir -p "$run_dir/ns" "$run_dir/nodes"
  printf 'bridge=%s\n' "$bridge" >"$run_dir/meta"
  mount --bind "$run_dir/ns" "$run_dir/ns"
  mount --make-private "$run_dir/ns"
  printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$run_dir/hosts"
  ip link add "$bridge" type bridge
  ip addr add "$gateway/$prefix" dev "$bridge"
  ip link set "$bridge" up
}

node_up() {
  local run_dir=$1 node=$2 netns=$3 veth=$4 bridge=$5 addr=$6 prefix=$7 hostname=$8
  local dir="$run_dir/nodes/$node"
  mkdir -p "$dir"
  printf 'netns=%s\nveth=%s\n' "$netns" "$veth" >"$dir/meta"
  for d in "${OVERLAYS[@]}"; do mkdir -p "$dir/ov/${d//\//_}/up" "$dir/ov/${d//\//_}/work"; done
  ip netns add "$netns"
  ip link add "$veth" type veth peer name "${veth}n"
  ip link set "${veth}n" netns "$netns"
  ip link set "$veth" master "$bridge" up
  ip -n "$netns" link set "${veth}n" name eth0
  ip -n "$netns" addr add "$addr/$prefix" dev eth0
  ip -n "$netns" link set lo up
  ip -n "$netns" link set eth0 up
  # No default route: the node reaches its subnet (other nodes, the gateway) and nothing else.
  touch "$run_dir/ns/$node.mnt" "$run_dir/ns/$node.uts" "$run_dir/ns/$node.time" "$dir/console.log"
  mkfifo "$dir/console.fifo"
  # A time namespace whose boot time is now, as for a VM that just booted: Slurm's power
  # saving takes a resumed node only once it booted after the resume request, in whole seconds
  # (a node booted in the request's second is refused). So: at least a second after the cloud
  # call that asked for the instance, at the start of a second, the node's uptime starts at 0.
  local up frac
  sleep 1
  frac=$(cut -d' ' -f1 /proc/uptime | cut -d. -f2)
  sleep "0.$(printf '%02d' $((100 - 10#$frac)))"
  up=$(cut -d. -f1 /proc/uptime)
  unshare --time="$run_dir/ns/$node.time" --boottime "-$up" true
  unshare --mount="$run_dir/ns/$node.mnt" --uts="$run_dir/ns/$node.uts" --propagation private \
    nsenter --net="/run/netns/$netns" -- bash "$HERE/node.sh" node-mounts "$run_dir" "$node" "$hostname"
}

# Runs inside the new mount + UTS namespace (and the node's network namespace).
node_mounts() {
  local run_dir=$1 node=$2 hostname=$3 d
  local dir="$run_dir/nodes/$node"
  # Other nodes' persisted namespaces were copied into this one; drop them.
  umount -l "$run_dir/ns"
  for d in "${OVERLAYS[@]}"; do
    mount -t overlay "simcloud-$node" \
      -o "lowerdir=/$d,upperdir=$dir/ov/${d//\//_}/up,workdir=$dir/ov/${d//\//_}/work" "/$d"
  done
  # Before /tmp is replaced: the run's hosts file and the node's console live under it.
  mount --bind "$run_dir/hosts" /etc/hosts
  # /dev/console is the node's console: a fifo that a reader inside the node (so it dies with
  # the node's processes) appends to console.log, which the cloud API serves. Both are opened
  # here, before /tmp is replaced below: a reader that opened them itself could start after
  # that (on a busy machine), find no fifo, exit, and leave every writer blocked in open().
  exec 3<>"$dir/console.fifo" 4>>"$dir/console.log"
  setsid cat <&3 >&4 2>/dev/null &
  exec 3>&- 4>&-
  mount --bind "$dir/console.fifo" /dev/console
  mount -t tmpfs -o mode=0755 "simcloud-$node" /run
  mount -t tmpfs -o mode=1777 "simcloud-$node" /tmp
  mount -t tmpfs -o mode=0755 "simcloud-$node" /home
  mkdir -p /run/sshd /run/lock
  chmod 0755 /run/sshd
  printf '%s\n' "$hostname" >/etc/hostname
  hostname "$hostname"
}

node_exec() {
  local run_dir=$1 node=$2 netns=$3
  shift 3
  [ "${1:-}" = "--" ] && shift
  exec nsenter --net="/run/netns/$netns" --mount="$run_dir/ns/$node.mnt" \
    --uts="$run_dir/ns/$node.uts" --time="$run_dir/ns/$node.time" -- "$@"
}

meta() { # meta FILE KEY
  sed -n "s/^$2=//p" "$1" 2>/dev/null | head -1
}

kill_netns_pids() { # every process in the namespace: TERM, then KILL after 5 s
  local netns=$1 pids i
  pids=$(ip netns pids "$netns" 2>/dev/null || true)
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for i in $(seq 50); do
    pids=$(ip netns pids "$netns" 2>/dev/null || true)
    [ -n "$pids" ] || return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  for i in $(seq 50); do
    [ -n "$(ip netns pids "$netns" 2>/dev/null || true)" ] || return 0
    sleep 0.1
  done
}

node_down() {
  local run_dir=$1 node=$2 dir netns veth f
  dir="$run_dir/nodes/$node"
  netns=$(meta "$dir/meta" netns)
  veth=$(meta "$dir/meta" veth)
  if [ -n "$netns" ]; then
    kill_netns_pids "$netns"
  fi
  for f in "$run_dir/ns/$node.mnt" "$run_dir/ns/$node.uts" "$run_dir/ns/$node.time"; do
    if [ -e "$f" ]; then
      umount "$f" 2>/dev/null || umount -l "$f" 2>/dev/null || true
      rm -f "$f"
    fi
  done
  [ -n "$veth" ] && ip link del "$veth" 2>/dev/null || true
  [ -n "$netns" ] && ip netns del "$netns" 2>/dev/null || true
  rm -rf "$dir"
}

run_down() {
  local run_dir=$1 node bridge
  [ -d "$run_dir" ] || return 0
  if [ -d "$run_dir/nodes" ]; then
    for node in $(ls "$run_dir/nodes"); do node_down "$run_dir" "$node"; done
  fi
  bridge=$(meta "$run_dir/meta" bridge)
  [ -n "$bridge" ] && ip link del "$bridge" 2>/dev/null || true
  if mountpoint -q "$run_dir/ns"; then umount "$run_dir/ns" 2>/dev/null || umount -l "$run_dir/ns"; fi
  rm -rf "$run_dir"
}

cmd=${1:-}
shift || true
case "$cmd" in
  run-up) run_up "$@" ;;
  node-up) node_up "$@" ;;
  node-mounts) node_mounts "$@" ;;
  exec) node_exec "$@" ;;
  node-down) node_down "$@" ;;
  run-down) run_down "$@" ;;
  *) die "usage: node.sh run-up|node-up|exec|node-down|run-down ..." ;;
esac
