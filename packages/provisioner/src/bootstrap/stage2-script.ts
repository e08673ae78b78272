import { CLOUD_ENV_NAMES } from '../autoscale/config.js';
import { LEDGER_PATH } from '../autoscale/ledger.js';

/**
 * The script stage 2 runs on every node as root (`sudo -n bash -s -- PHASE ARGS...`, the
 * script on stdin, each argument quoted). One phase per run; each phase is idempotent, so
 * running stage 2 again (a retried launch, `addNodes`) only changes what is not in place.
 *
 * Phases:
 * - `probe`: prints `hostname=`, `cpus=`, `memory_mb=` (what slurm.conf needs).
 * - `packages NODE_VERSION`: Node.js >= 20.19 (kept when present, else the official build
 *   of NODE_VERSION, checked against its SHASUMS256.txt), munge and Slurm (apt when missing).
 * - `toil-registry VERSION`: `npm install -g @toil/cli@VERSION` unless `toil --version` says it.
 * - `toil-bundle VERSION ID ARCHIVE`: unpacks a self-contained install (uploaded to ARCHIVE)
 *   into `/opt/toil-ts/ID` once, and links `/usr/local/bin/toil` to it.
 * - `slurm ROLE CONF_BASE64 [NODE_NAME]`: writes `/etc/slurm/slurm.conf`, starts `slurmctld`
 *   (leader) or `slurmd` (worker; `-N NODE_NAME` for a cloud node, which registers under the
 *   name Slurm resumed it as), restarting it when the configuration changed.
 * - `autoscale CONFIG_BASE64` (leader of a cluster with elastic groups, run with the login's
 *   cloud settings kept by `sudo --preserve-env`): the settings in `/etc/toil-ts/autoscale`,
 *   the leader's own SSH key for the nodes it starts, a copy of the munge key, the cloud
 *   settings of the login, all readable by Slurm's user only except the settings (no secret;
 *   `toil run --provisioner` checks a run against them as the login user); the power-saving
 *   programs; and the node ledger (written by Slurm's user, readable by all).
 * - `power-up HOSTLIST`: asks Slurm to resume cloud nodes (an elastic group's minimum).
 * - `slurm-ready SECONDS HOST...`: waits until `sinfo` shows every HOST up (idle, or running
 *   jobs after a re-run).
 *
 * The munge key never passes through this script's arguments: see {@link MUNGE_KEY_SCRIPT}.
 */
export const STAGE2_SCRIPT = `set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
phase=\${1:?no phase given}
shift
say() { printf 'stage2 %s: %s\\n' "$phase" "$*"; }
die() { printf 'stage2 %s: %s\\n' "$phase" "$*" >&2; exit 1; }

node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}

apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "$* missing and this node has no apt-get: use an image that has them"
  say "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pidfile() {
  local pid
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  die "process $pid (from $1) did not stop within 30 s"
}

case "$phase" in
probe)
  printf 'hostname=%s\\ncpus=%s\\nmemory_mb=%s\\n' "$(hostname -s)" "$(nproc)" \\
    "$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)"
  ;;
packages)
  version=\${1:?no Node.js version given}
  if node_ok; then
    say "Node.js $(node --version) is present"
  else
    case $(uname -m) in
      x86_64) arch=x64 ;;
      aarch64) arch=arm64 ;;
      *) die "no Node.js build for $(uname -m)" ;;
    esac
    command -v curl >/dev/null 2>&1 && command -v xz >/dev/null 2>&1 || apt_install curl ca-certificates xz-utils
    name="node-v$version-linux-$arch"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    say "downloading $name from nodejs.org"
    curl -fsSL --retry 3 -o "$work/$name.tar.xz" "https://nodejs.org/dist/v$version/$name.tar.xz" || die "cannot download $name"
    curl -fsSL --retry 3 -o "$work/SHASUMS256.txt" "https://nodejs.org/dist/v$version/SHASUMS256.txt" || die "cannot download the checksums of Node.js $version"
    (cd "$work" && grep " $name.tar.xz\\$" SHASUMS256.txt | sha256sum -c --status) || die "$name.tar.xz does not match SHASUMS256.txt"
    tar -xJf "$work/$name.tar.xz" -C /usr/local --strip-components=1 --no-same-owner
    node_ok || die "Node.js $version was installed but node does not run"
    say "installed Node.js $(node --version)"
  fi
  missing=()
  # tmux: detached runs (toil ssh-cluster --detach) live in tmux sessions.
  for command in munged slurmctld slurmd sinfo tmux; do
    command -v "$command" >/dev/null 2>&1 || missing+=("$command")
  done
  if [ "\${#missing[@]}" -gt 0 ]; then apt_install munge slurm-wlm tmux; fi
  say "$(slurmd -V 2>/dev/null), munge and tmux are present"
  ;;
toil-registry)
  version=\${1:?no version given}
  if [ "$(toil --version 2>/dev/null || true)" = "$version" ]; then
    say "toil $version is installed"
    exit 0
  fi
  command -v npm >/dev/null 2>&1 || die "npm is missing (it comes with Node.js from nodejs.org)"
  say "installing @toil/cli@$version from the npm registry"
  npm install -g --no-fund --no-audit --loglevel=error "@toil/cli@$version" >&2 || die "npm install -g @toil/cli@$version failed"
  got=$(toil --version 2>/dev/null || true)
  [ "$got" = "$version" ] || die "toil --version says '$got' after the install, not $version"
  say "installed toil $version"
  ;;
toil-bundle)
  version=\${1:?no version given}
  id=\${2:?no bundle id given}
  archive=\${3:?no archive given}
  dest="/opt/toil-ts/$id"
  if [ ! -f "$dest/.toil-ts-complete" ]; then
    [ -f "$archive" ] || die "the bundle $archive was not uploaded"
    rm -rf "$dest.partial"
    mkdir -p "$dest.partial"
    tar -xzf "$archive" -C "$dest.partial" --no-same-owner || die "cannot unpack $archive"
    [ -f "$dest.partial/dist/bin.js" ] && [ -d "$dest.partial/node_modules" ] ||
      die "the bundle is not a self-contained @toil/cli install (no dist/bin.js and node_modules)"
    chmod -R a+rX "$dest.partial"
    touch "$dest.partial/.toil-ts-complete"
    rm -rf "$dest"
    mv "$dest.partial" "$dest"
    say "unpacked the bundle into $dest"
  else
    say "the bundle is already in $dest"
  fi
  rm -f "$archive"
  ln -sfn "$dest/dist/bin.js" /usr/local/bin/toil
  got=$(toil --version 2>&1 || true)
  [ "$got" = "$version" ] || die "toil --version says '$got', not $version"
  say "toil $version is installed"
  ;;
slurm)
  role=\${1:?no role given}
  conf=\${2:?no slurm.conf given}
  node_name=\${3:-}
  case $role in
    leader) daemon=slurmctld ;;
    worker) daemon=slurmd ;;
    *) die "unknown role $role" ;;
  esac
  mkdir -p /etc/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
  chown slurm:slurm /var/lib/slurm/slurmctld /var/log/slurm
  new=$(mktemp /etc/slurm/.slurm.conf.XXXXXX)
  printf %s "$conf" | base64 -d > "$new"
  chmod 0644 "$new"
  changed=no
  if cmp -s "$new" /etc/slurm/slurm.conf; then rm -f "$new"; else mv -f "$new" /etc/slurm/slurm.conf; changed=yes; fi
  pidfile="/run/$daemon.pid"
  if running "$pidfile" && [ "$changed" = yes ]; then
    say "slurm.conf changed: restarting $daemon"
    stop_pidfile "$pidfile"
  fi
  if running "$pidfile"; then
    say "$daemon is running"
  else
    if [ "$role" = leader ]; then /usr/sbin/slurmctld -i
    elif [ -n "$node_name" ]; then /usr/sbin/slurmd -N "$node_name"
    else /usr/sbin/slurmd; fi
    for _ in $(seq 100); do running "$pidfile" && break; sleep 0.1; done
    running "$pidfile" || { tail -n 20 "/var/log/slurm/$daemon.log" >&2 || true; die "$daemon did not start"; }
    say "started $daemon"
  fi
  ;;
autoscale)
  config=\${1:?no settings given}
  dir=/etc/toil-ts/autoscale
  mkdir -p "$dir" /usr/local/lib/toil-ts /var/log/slurm
  chown root:slurm "$dir"
  # Others may open the settings (toil run --provisioner checks a run against them), not list
  # the directory; the keys and cloud.env are Slurm's only.
  chmod 0751 "$dir"
  printf %s "$config" | base64 -d > "$dir/config.json.new"
  chmod 0644 "$dir/config.json.new"
  mv -f "$dir/config.json.new" "$dir/config.json"
  if [ ! -f "$dir/id_ed25519" ]; then
    ssh-keygen -q -t ed25519 -N '' -C "toil-ts-autoscale@$(hostname -s)" -f "$dir/id_ed25519" || die "ssh-keygen failed"
  fi
  chown slurm:slurm "$dir/id_ed25519" "$dir/id_ed25519.pub"
  chmod 0600 "$dir/id_ed25519"
  install -o slurm -g slurm -m 0400 /etc/munge/munge.key "$dir/munge.key"
  # Nodes the leader starts get its login user's id: Slurm runs jobs as the submitter's uid.
  if [ -n "\${SUDO_UID:-}" ]; then printf '%s\n' "$SUDO_UID" > "$dir/login-uid"; chmod 0644 "$dir/login-uid"; fi
  ( umask 077
    for name in ${CLOUD_ENV_NAMES.join(' ')}; do
      if [ -n "\${!name:-}" ]; then printf 'export %s=%q\n' "$name" "\${!name}"; fi
    done > "$dir/cloud.env" )
  chown slurm:slurm "$dir/cloud.env"
  chmod 0600 "$dir/cloud.env"
  for action in resume suspend resume-fail; do
    program="/usr/local/lib/toil-ts/slurm-$action"
    cat > "$program.new" <<PROGRAM
#!/bin/bash
# Slurm's power saving runs this with a host list: toil-ts starts or terminates the cloud nodes.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
. /etc/toil-ts/autoscale/cloud.env
exec toil cluster-power $action --nodes "\\$1" >> /var/log/slurm/toil-power.log 2>&1
PROGRAM
    chmod 0755 "$program.new"
    mv -f "$program.new" "$program"
  done
  touch /var/log/slurm/toil-power.log
  chown slurm:slurm /var/log/slurm/toil-power.log
  # The node ledger: written by the power-saving programs, read by runs for the cost accrued.
  mkdir -p "$(dirname ${LEDGER_PATH})"
  touch ${LEDGER_PATH}
  chown slurm:slurm ${LEDGER_PATH}
  chmod 0644 ${LEDGER_PATH}
  say "autoscaling settings, key and power-saving programs in place"
  ;;
power-up)
  nodes=\${1:?no nodes given}
  scontrol update NodeName="$nodes" State=POWER_UP || die "scontrol could not power up $nodes"
  say "asked Slurm to start $nodes"
  ;;
slurm-ready)
  seconds=\${1:?no timeout given}
  shift
  down=""
  for _ in $(seq $((seconds * 5))); do
    states=$(sinfo -h -N -o '%N %t' 2>/dev/null || true)
    down=""
    for host in "$@"; do
      state=$(printf '%s\\n' "$states" | awk -v h="$host" '$1 == h { print $2; exit }')
      case $state in
        idle | mix | alloc | comp) ;;
        *) down="$down $host(\${state:-unknown})" ;;
      esac
    done
    if [ -z "$down" ]; then
      say "Slurm shows $# worker(s) up: $*"
      exit 0
    fi
    sleep 0.2
  done
  sinfo -N >&2 || true
  die "workers not up in Slurm after $seconds s:$down"
  ;;
*)
  die "unknown phase"
  ;;
esac
`;

/**
 * Installs the munge key read from stdin as `/etc/munge/munge.key` (owner munge, mode 0400),
 * marks it as the cluster's key (`/etc/toil-ts/munge-key-installed`) and makes sure munged
 * runs with it (restarted when the key changed). Run as root with the
 * key on stdin only: it is never an argument, a file on the launcher, or in any output.
 */
export const MUNGE_KEY_SCRIPT = `set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
chown munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0700 /etc/munge /var/lib/munge /var/log/munge
chmod 0755 /run/munge
new=$(mktemp /etc/munge/.munge.key.XXXXXX)
cat > "$new"
[ "$(stat -c %s "$new")" -ge 32 ] || { rm -f "$new"; echo 'stage2 munge: the key is too short' >&2; exit 1; }
chown munge:munge "$new"
chmod 0400 "$new"
changed=no
if cmp -s "$new" /etc/munge/munge.key; then rm -f "$new"; else mv -f "$new" /etc/munge/munge.key; changed=yes; fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
# Marks the key as the cluster's (not one an image or package made), for nodes added later.
mkdir -p /etc/toil-ts
touch /etc/toil-ts/munge-key-installed
pidfile=/run/munge/munged.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  [ "$changed" = no ] && { echo 'stage2 munge: munged is running with this key'; exit 0; }
  kill "$(cat "$pidfile")"
  for _ in $(seq 100); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
fi
runuser -u munge -- /usr/sbin/munged
echo 'stage2 munge: munged started'
`;

/**
 * Prints the cluster's munge key when stage 2 installed one on this node (a cluster that
 * grows takes the leader's key); exits 3 otherwise (a key an image or package made is not
 * the cluster's). Run as root; the output is never logged.
 */
export const READ_MUNGE_KEY_SCRIPT = `test -f /etc/toil-ts/munge-key-installed || exit 3
exec cat /etc/munge/munge.key
`;
