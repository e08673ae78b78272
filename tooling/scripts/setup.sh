#!/usr/bin/env bash
# Installs the workspace and builds every package. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tooling/scripts/ensure-pnpm.sh
export CI="${CI:-true}"
timeout 900 pnpm install --frozen-lockfile --reporter=append-only
timeout 900 pnpm build
