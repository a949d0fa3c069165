#!/usr/bin/env bash
# `pnpm check [base]`: lint (biome), typecheck and tests of the workspace packages changed since
# `base` (default HEAD: the uncommitted work; `pnpm check origin/main` for a branch) and of every
# package that depends on them, one package's tests at a time as `pnpm test` runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
base="${1:-HEAD}"
exec turbo run lint typecheck test --concurrency=1 --filter="...[$base]"
