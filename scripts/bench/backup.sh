#!/usr/bin/env bash
# Benchmark (not a test): backup and restore, pgkeel against the usual shell pipelines, on the
# same generated database, the same server and the same binaries, in one run.
#   backup:  pg_dump | gzip   ·   pg_dump -Fc   ·   pgkeel backup --verify none   ·   pgkeel backup (verify restore)
#   restore: gunzip | psql    ·   pg_restore    ·   pgkeel restore (checksums + verification)
# Prints times, throughput ratios, sizes and peak RSS (/usr/bin/time -v).
# Targets: pgkeel backup >= 2x the throughput of pg_dump|gzip at no larger size; restore >= 1.5x
# faster than gunzip|psql; peak RSS <= 100 MB.
#
# Usage: scripts/bench/backup.sh [size_mb=1000]
#   PGKEEL_BENCH_DATABASE_URL=postgres://… to use an existing server (a database is created there).
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mb="${1:-1000}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgkeel-target}"
cargo build --release --quiet
pgkeel="$CARGO_TARGET_DIR/release/pgkeel"
bindir="${PGKEEL_PG_BIN:-$(dirname "$(ls -d /usr/lib/postgresql/*/bin/pg_dump | sort -V | tail -n1)")}"

work="$(mktemp -d)"
export PGKEEL_STATE_DIR="$work/state"
cleanup() {
  "$pgkeel" sandbox stop --name bench >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${PGKEEL_BENCH_DATABASE_URL:-}" ]; then
  server="$PGKEEL_BENCH_DATABASE_URL"
else
  server="$("$pgkeel" sandbox start --name bench 2>/dev/null)"
fi
base="${server%%\?*}"; base="${base%/*}"
query="${server#"${server%%\?*}"}"
url() { echo "$base/$1$query"; }
psql_() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

psql_ "$(url postgres)" -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
src="$(url bench)"

# ~250 bytes per row across mixed types; a second table with jsonb; indexes on both.
rows=$(( size_mb * 1000000 / 330 ))
echo "generating ~${size_mb} MB ($rows rows)…" >&2
psql_ "$src" <<SQL
CREATE TYPE state AS ENUM ('new', 'paid', 'shipped', 'returned');
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer int NOT NULL,
  state state NOT NULL,
  amount numeric(12,2) NOT NULL,
  placed timestamptz NOT NULL,
  email text NOT NULL,
  note text,
  token uuid NOT NULL,
  flags boolean[] NOT NULL
);
INSERT INTO orders (customer, state, amount, placed, email, note, token, flags)
SELECT g % 100000, (ARRAY['new','paid','shipped','returned'])[1 + g % 4]::state,
       (g % 100000) / 100.0, now() - (g % 1000000) * interval '1 minute',
       'user' || (g % 100000) || '@example.com',
       CASE WHEN g % 3 = 0 THEN repeat(md5(g::text), 2) END,
       md5(g::text)::uuid, ARRAY[g % 2 = 0, g % 5 = 0]
FROM generate_series(1, $(( rows * 2 / 3 ))) g;
CREATE TABLE events (
  id bigserial PRIMARY KEY,
  order_id bigint NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  payload jsonb NOT NULL
);
INSERT INTO events (order_id, at, payload)
SELECT g, now() - g * interval '1 second',
       jsonb_build_object('kind', 'k' || (g % 17), 'n', g, 'tags', jsonb_build_array(g % 7, md5(g::text)))
FROM generate_series(1, $(( rows / 3 ))) g;
CREATE INDEX orders_customer ON orders (customer);
CREATE INDEX orders_placed ON orders (placed);
CREATE INDEX events_order ON events (order_id);
ANALYZE;
SQL
dbsize=$(psql_ -At "$src" -c "SELECT pg_database_size('bench')")
echo "database: $(( dbsize / 1000000 )) MB" >&2

# time_it NAME CMD… : wall seconds, peak RSS (kB) of the largest process of the command's tree
# (for pgkeel with verification that is a backend of its throwaway server, which counts its
# shared buffers), and peak RSS of the command itself (VmHWM, read every 0.2 s with builtins).
declare -A secs rss own
time_it() {
  local name="$1"; shift
  local t0 t1 tp hwm=0 child key value _
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$work/$name.time" "$@" >/dev/null 2>"$work/$name.err" &
  tp=$!
  while kill -0 "$tp" 2>/dev/null; do
    for child in $(cat "/proc/$tp/task/$tp/children" 2>/dev/null); do
      while read -r key value _; do
        if [ "$key" = "VmHWM:" ] && [ "$value" -gt "$hwm" ]; then hwm=$value; fi
      done < "/proc/$child/status" 2>/dev/null || true
    done
    sleep 0.2
  done
  wait "$tp" || { cat "$work/$name.err" >&2; exit 1; }
  t1=$(date +%s.%N)
  secs[$name]=$(echo "$t1 - $t0" | bc -l)
  rss[$name]=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/$name.time")
  own[$name]=$hwm
}
size_of() { du -sb "$1" | cut -f1; }

export PGPASSWORD="${PGPASSWORD:-}"
time_it dump_gzip bash -c "'$bindir/pg_dump' '$src' | gzip > '$work/plain.sql.gz'"
time_it dump_fc "$bindir/pg_dump" -Fc -f "$work/custom.dump" "$src"
time_it pgkeel_noverify "$pgkeel" backup --database-url "$src" --to "$work/pk1" --verify none
time_it pgkeel_verify "$pgkeel" backup --database-url "$src" --to "$work/pk2" --verify restore

size_gzip=$(size_of "$work/plain.sql.gz")
size_fc=$(size_of "$work/custom.dump")
size_pk=$(find "$work/pk1" -name '*.dump*' -printf '%s\n' | head -n1)
pk_backup="$(ls -d "$work"/pk1/*/ | head -n1)"

# Each restore goes into a fresh database after a CHECKPOINT (so none pays for the WAL an
# earlier one left behind), in two rounds with the order reversed; the faster run counts.
restore_once() { # $1 = tool, $2 = round
  local db="r_$1_$2"
  psql_ "$(url postgres)" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" -c "CHECKPOINT"
  case "$1" in
    psql) time_it "restore_psql_$2" bash -c "gunzip -c '$work/plain.sql.gz' | '$bindir/psql' -X -q -v ON_ERROR_STOP=1 '$(url "$db")'" ;;
    pgrestore) time_it "restore_pgrestore_$2" "$bindir/pg_restore" --exit-on-error -d "$(url "$db")" "$work/custom.dump" ;;
    pgkeel) time_it "restore_pgkeel_$2" "$pgkeel" restore --database-url "$(url "$db")" --from "$pk_backup" --confirm "$db" --no-safety-backup --backups "$work/pk1" ;;
  esac
  psql_ "$(url postgres)" -c "DROP DATABASE $db"
}
for tool in psql pgrestore pgkeel; do restore_once "$tool" 1; done
for tool in pgkeel pgrestore psql; do restore_once "$tool" 2; done
for tool in psql pgrestore pgkeel; do
  a="restore_${tool}_1"; b="restore_${tool}_2"
  if (( $(echo "${secs[$a]} <= ${secs[$b]}" | bc -l) )); then best="$a"; else best="$b"; fi
  secs[restore_$tool]="${secs[$best]}"
  rss[restore_$tool]="${rss[$best]}"
  own[restore_$tool]="${own[$best]}"
done

ratio() { echo "scale=2; $1 / $2" | bc -l; }
mb() { echo "scale=1; $1 / 1000000" | bc -l; }
printf '\ndatabase %s MB (pg_database_size), PostgreSQL %s, %s CPUs\n\n' "$(mb "$dbsize")" "$(psql_ -At "$src" -c 'SHOW server_version')" "$(nproc)"
printf '%-34s %9s %10s %11s %11s\n' "backup" "seconds" "size MB" "peak RSS MB" "itself MB"
printf '%-34s %9.2f %10s %11s %11s\n' "pg_dump | gzip" "${secs[dump_gzip]}" "$(mb "$size_gzip")" "$(( ${rss[dump_gzip]} / 1000 ))" "-"
printf '%-34s %9.2f %10s %11s %11s\n' "pg_dump -Fc" "${secs[dump_fc]}" "$(mb "$size_fc")" "$(( ${rss[dump_fc]} / 1000 ))" "-"
printf '%-34s %9.2f %10s %11s %11s\n' "pgkeel backup --verify none" "${secs[pgkeel_noverify]}" "$(mb "$size_pk")" "$(( ${rss[pgkeel_noverify]} / 1000 ))" "$(( ${own[pgkeel_noverify]} / 1000 ))"
printf '%-34s %9.2f %10s %11s %11s\n' "pgkeel backup (verify restore)" "${secs[pgkeel_verify]}" "$(mb "$size_pk")" "$(( ${rss[pgkeel_verify]} / 1000 ))" "$(( ${own[pgkeel_verify]} / 1000 ))"
printf '\n%-34s %9s %11s %11s\n' "restore" "seconds" "peak RSS MB" "itself MB"
printf '%-34s %9.2f %11s %11s\n' "gunzip | psql" "${secs[restore_psql]}" "$(( ${rss[restore_psql]} / 1000 ))" "-"
printf '%-34s %9.2f %11s %11s\n' "pg_restore (custom)" "${secs[restore_pgrestore]}" "$(( ${rss[restore_pgrestore]} / 1000 ))" "-"
printf '%-34s %9.2f %11s %11s\n' "pgkeel restore" "${secs[restore_pgkeel]}" "$(( ${rss[restore_pgkeel]} / 1000 ))" "$(( ${own[restore_pgkeel]} / 1000 ))"
echo
echo "backup throughput, pgkeel (no verify) vs pg_dump|gzip: $(ratio "${secs[dump_gzip]}" "${secs[pgkeel_noverify]}")x (target >= 2)"
echo "backup size, pgkeel vs pg_dump|gzip:                    $(ratio "$size_pk" "$size_gzip") (target <= 1)"
echo "restore speed, pgkeel vs gunzip|psql:                   $(ratio "${secs[restore_psql]}" "${secs[restore_pgkeel]}")x (target >= 1.5)"
echo "verified backup costs $(ratio "${secs[pgkeel_verify]}" "${secs[pgkeel_noverify]}")x an unverified one"
