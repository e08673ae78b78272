#!/usr/bin/env bash
# Debian packages the integration tests need: openssl (test certificates); a real single-node Slurm (slurmctld, slurmd,
# slurm-client, munge); the simulated cloud's nodes (iproute2 for network namespaces and the
# bridge, util-linux for unshare/nsenter, passwd for useradd, openssh-server/-client, rsync,
# sudo for stage 2 on the nodes); tmux for the PTY tests of @toil/cluster-ssh; chromium for the
# browser tests of the HTML report (driven by puppeteer-core, which downloads no browser). Needs root and
# apt; elsewhere it says loudly what will not run.
set -uo pipefail
need=(slurmctld slurmd slurm-client munge openssl iproute2 util-linux passwd openssh-server openssh-client rsync sudo tmux cloud-init chromium)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "!! WARNING: cannot install ${missing[*]} (needs root and apt-get): the Slurm, SSH, simulated-cloud and browser tests will be SKIPPED on this machine." >&2
  echo "!! In CI they must run: run this script as root first." >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
timeout 300 apt-get update -qq >/dev/null
timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
