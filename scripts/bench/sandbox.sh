#!/usr/bin/env bash
# Benchmark (not a test): median time to a ready throwaway PostgreSQL.
#   pgkeel:   `pgkeel sandbox start` (template copy + postgres + 2 ms readiness polling)
#   baseline: plain `initdb` + `pg_ctl start -w`, the way most scripts and CI jobs do it
# Both run in the same invocation, interleaved, on the same binaries. Prints medians and the
# ratio pgkeel/baseline (target: <= 0.5).
#
# Usage: scripts/bench/sandbox.sh [runs=11]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-11}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgkeel-target}"
cargo build --release --quiet
pgkeel="$CARGO_TARGET_DIR/release/pgkeel"

bindir="${PGKEEL_PG_BIN:-$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")}"
state="$(mktemp -d)"
export PGKEEL_STATE_DIR="$state"
trap 'rm -rf "$state"' EXIT

# initdb refuses to run as root: the baseline runs as `postgres` then, like pgkeel's server.
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); else as_pg=(); fi

# Same filesystem for both: pgkeel puts throwaway data on /dev/shm when it has room, so the
# baseline does too (a disk would make the baseline look worse than it has to).
base="${PGKEEL_SANDBOX_DIR:-$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp )}"
export PGKEEL_SANDBOX_DIR="$base"

now_ms() { date +%s%3N; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

baseline_once() {
  local dir port t0 t1
  dir="$(mktemp -d "$base/pgkeel-bench-XXXXXX")"; chmod 755 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  port="$(free_port)"
  t0="$(now_ms)"
  "${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -s \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start
  t1="$(now_ms)"
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -s stop
  rm -rf "$dir"
  echo $((t1 - t0))
}

pgkeel_once() {
  local t0 t1
  t0="$(now_ms)"
  PGKEEL_PG_BIN="$bindir" "$pgkeel" -q sandbox start --name bench >/dev/null
  t1="$(now_ms)"
  "$pgkeel" -q sandbox stop --name bench >/dev/null
  echo $((t1 - t0))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Warm-up: builds pgkeel's template cache once (it is reused by every later start).
pgkeel_once >/dev/null

b=(); p=()
for _ in $(seq "$runs"); do
  b+=("$(baseline_once)")
  p+=("$(pgkeel_once)")
done
bm="$(printf '%s\n' "${b[@]}" | median)"
pm="$(printf '%s\n' "${p[@]}" | median)"
echo "PostgreSQL binaries: $bindir ($("$bindir/postgres" --version))"
echo "runs: $runs (interleaved), data directories under $base"
printf 'initdb + pg_ctl start -w   median %5d ms\n' "$bm"
printf 'pgkeel sandbox start       median %5d ms\n' "$pm"
awk -v p="$pm" -v b="$bm" 'BEGIN { printf "ratio pgkeel/baseline: %.2f (target <= 0.50)\n", p / b }'
