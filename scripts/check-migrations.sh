#!/usr/bin/env bash
# Fails when the drizzle schema and the committed migrations disagree: regenerating must change nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(git status --porcelain -- drizzle)
npx drizzle-kit generate --name check >/dev/null
after=$(git status --porcelain -- drizzle)
if [ "$before" != "$after" ]; then
  echo "drizzle/ changed after 'drizzle-kit generate': the schema in src/store/schema.ts has changes with no migration." >&2
  git status --porcelain -- drizzle >&2
  exit 1
fi
echo "migrations are in step with src/store/schema.ts"
