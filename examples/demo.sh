#!/usr/bin/env bash
# The main job on the embedded default, no database needed: previews a pull request's
# migrations the way the diff action does. It builds a throwaway git repository whose base
# commit holds examples/pgkeel/migrations and whose head commit adds examples/demo's
# migration, then runs
#   pgkeel diff --migrations migrations --base-ref HEAD~1
# which replays both sides in a throwaway PostgreSQL it starts itself and prints the report.
# Extra arguments go to pgkeel (e.g. --format markdown, --check-down).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pgkeel="${PGKEEL:-}"
if [ -z "$pgkeel" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  pgkeel="${CARGO_TARGET_DIR:-$root/target}/release/pgkeel"
fi
repo="$(mktemp -d)"
trap 'rm -rf "$repo"' EXIT
cd "$repo"
git init -q
cp -r "$root/examples/pgkeel/migrations" migrations
git add migrations
git -c user.name=demo -c user.email=demo@example.com commit -qm "base"
cp "$root/examples/demo/"*.sql migrations/
git add migrations
git -c user.name=demo -c user.email=demo@example.com commit -qm "pull request"
"$pgkeel" diff --migrations migrations --base-ref HEAD~1 -q "$@"
