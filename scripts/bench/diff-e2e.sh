#!/usr/bin/env bash
# Benchmark (not a test): `pgkeel diff --migrations --base-ref` end to end on a project of N
# migrations (default 100: tables, columns, indexes, a function, a view), against its floor —
# applying every migration twice with `psql -f` into fresh databases, which is the least any
# tool must do to compare base and head. Same server, same run; prints times and the ratio.
#
# Usage: scripts/bench/diff-e2e.sh [migrations=100]
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-100}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgkeel-target}"
cargo build --release --quiet
pgkeel="$CARGO_TARGET_DIR/release/pgkeel"

state="$(mktemp -d)"
repo="$(mktemp -d)"
export PGKEEL_STATE_DIR="$state"
url="$("$pgkeel" -q sandbox start --name bench-e2e)"
trap '"$pgkeel" -q sandbox stop --name bench-e2e >/dev/null 2>&1 || true; rm -rf "$state" "$repo"' EXIT
base="${url%/postgres*}"
port="${base##*:}"
psql_bin="$(dirname "$(ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -n1)")"
psql() { PGOPTIONS="-c client_min_messages=warning" "$psql_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }

mkdir -p "$repo/migrations"
python3 - "$n" "$repo/migrations" <<'PY'
import sys, os
n, d = int(sys.argv[1]), sys.argv[2]
for i in range(1, n + 1):
    t = f"t{i % 40}"
    if i <= 40:
        sql = f"CREATE TABLE {t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n"
    elif i % 5 == 0:
        sql = f"CREATE INDEX {t}_c{i} ON {t} (created_at, name);\n"
    elif i % 7 == 0:
        sql = f"CREATE OR REPLACE VIEW v{i} AS SELECT id, name FROM {t} WHERE name <> '';\n"
    elif i % 11 == 0:
        sql = f"CREATE FUNCTION f{i}(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x + {i} $$;\n"
    else:
        sql = f"ALTER TABLE {t} ADD COLUMN c{i} integer DEFAULT {i};\nCOMMENT ON COLUMN {t}.c{i} IS 'column {i}';\n"
    with open(os.path.join(d, f"{i:04d}_m{i}.up.sql"), "w") as f:
        f.write(sql)
PY
cd "$repo"
git init -q
keep=$((n - 5))
git add migrations
# Base: all but the last five migrations; head: all of them.
for f in $(ls migrations | sort | tail -n 5); do git rm -q --cached "migrations/$f"; done
git -c user.name=b -c user.email=b@e commit -qm base
git add migrations
git -c user.name=b -c user.email=b@e commit -qm head

now() { date +%s.%N; }
floor_once() {
  psql -d postgres -c "DROP DATABASE IF EXISTS floor_a" -c "DROP DATABASE IF EXISTS floor_b" -c "CREATE DATABASE floor_a" -c "CREATE DATABASE floor_b"
  for db in floor_a floor_b; do
    for f in migrations/*.up.sql; do psql -d "$db" -f "$f"; done
  done
}
pgkeel_once() {
  "$pgkeel" -q diff --migrations migrations --base-ref HEAD~1 --sandbox-url "$url" --format json --fail-on never >/dev/null
}
best() { # $1 = function; best of 3
  local b=""
  for _ in 1 2 3; do
    local t0 t1; t0=$(now); "$1"; t1=$(now)
    local d; d=$(echo "$t1 - $t0" | bc)
    if [ -z "$b" ] || [ "$(echo "$d < $b" | bc)" = 1 ]; then b=$d; fi
  done
  echo "$b"
}
floor=$(best floor_once)
ours=$(best pgkeel_once)
embedded() { "$pgkeel" -q diff --migrations migrations --base-ref HEAD~1 --format json --fail-on never >/dev/null; }
own=$(best embedded)
printf 'migrations: %d (base %d, 5 new)\n' "$n" "$keep"
printf 'floor (psql -f, all migrations twice, fresh databases): %.2f s\n' "$floor"
printf 'pgkeel diff --base-ref (same server, --sandbox-url):   %.2f s  (%.2fx the floor)\n' "$ours" "$(echo "$ours / $floor" | bc -l)"
printf 'pgkeel diff --base-ref (embedded throwaway server):    %.2f s  (%.2fx the floor)\n' "$own" "$(echo "$own / $floor" | bc -l)"
