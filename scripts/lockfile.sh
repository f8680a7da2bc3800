#!/usr/bin/env bash
# Rewrites package-lock.json so that `npm ci` accepts it on every platform (`npm run lockfile`).
#
# Why: npm builds a lockfile from the node_modules it finds. A node_modules installed on linux-x64
# holds only linux-x64's optional platform packages (@swc/core-*, @img/sharp-*, esbuild's …), so an
# `npm install` run there can drop the other platforms' entries, and npm 11's `npm ci` then refuses
# the lockfile as out of sync with package.json (npm/cli#4828). Resolving in a scratch folder that
# holds only package.json and the current lockfile (no node_modules) records every platform's
# packages, keeps the versions already locked, and adds or drops only what package.json changed.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp package.json "$scratch/"
[ -f package-lock.json ] && cp package-lock.json "$scratch/"
(cd "$scratch" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund >/dev/null)
cp "$scratch/package-lock.json" package-lock.json
echo "package-lock.json rewritten; run \`npm ci\` to install exactly it."
