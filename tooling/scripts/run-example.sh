#!/usr/bin/env bash
# README's first command: set everything up, run the seed's example workflow on a `file:` job
# store with --stats on this machine, then show `toil stats` for it.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tooling/scripts/setup.sh
toil=(node packages/cli/dist/bin.js)
# A store left by an earlier run of this script would make the run fail with JOBSTORE_EXISTS.
"${toil[@]}" clean file:my-jobstore --logWarning
"${toil[@]}" run examples/discoverfiles.ts file:my-jobstore --stats
"${toil[@]}" stats file:my-jobstore
