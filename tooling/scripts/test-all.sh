#!/usr/bin/env bash
# README's second command: set everything up, then run every check and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tooling/test-env/install-system-deps.sh
bash tooling/scripts/setup.sh
source tooling/scripts/ensure-pnpm.sh
echo "== lint";           timeout 600 pnpm lint
echo "== typecheck";      timeout 600 pnpm typecheck
# publint + attw on the packed tarballs (`pnpm check:packages`) run inside the test suite, in
# the release rehearsal (tooling/test-env/test/release-rehearsal.test.ts), on the tarballs it
# installs: not twice.
echo "== tests";          timeout 3000 pnpm test:unit --ci
