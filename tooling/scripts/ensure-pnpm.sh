#!/usr/bin/env bash
# Puts the pnpm pinned in package.json on PATH: a global npm install when that is writable,
# otherwise a user-prefix install under ~/.local. Sourced by the setup scripts.
set -euo pipefail
want=$(node -p "require('./package.json').packageManager.split('@')[1].split('+')[0]")
if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$want" ]; then
  return 0 2>/dev/null || exit 0
fi
if [ -w "$(npm prefix -g)/lib" ] 2>/dev/null || [ "$(id -u)" = 0 ]; then
  timeout 300 npm install -g --no-fund --no-audit "pnpm@$want" >/dev/null
else
  timeout 300 npm install -g --prefix "$HOME/.local" --no-fund --no-audit "pnpm@$want" >/dev/null
  export PATH="$HOME/.local/bin:$PATH"
fi
pnpm --version >/dev/null
