#!/usr/bin/env bash
# Makes sure the runner has PostgreSQL client tools (pg_dump, pg_restore, psql) at least as new
# as the server, for action-backup and action-restore. pg_dump refuses a server newer than
# itself, and ubuntu-24.04 ships 16: against a 17 or 18 server, postgresql-client-<major> is
# installed from the PostgreSQL apt repository (apt.postgresql.org) and its directory, not the
# /usr/bin wrapper (which may keep picking the older local version), is written to the step
# output `bin` for PGKEEL_PG_BIN.
#
# Reads PGKEEL_BIN (the pgkeel binary) and the connection from the environment
# (PGKEEL_DATABASE_URL); nothing here is interpolated by the runner.
set -euo pipefail

output() {
  local delimiter
  delimiter="ghadelimiter_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s<<%s\n%s\n%s\n' "$1" "$delimiter" "$2" "$delimiter" >>"${GITHUB_OUTPUT:-/dev/null}"
}

facts="$("$PGKEEL_BIN" check --format json)"
if command -v jq >/dev/null 2>&1; then
  major="$(jq -r '.server.major' <<<"$facts")"
else
  major="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["server"]["major"])' <<<"$facts")"
fi
case "$major" in
  '' | *[!0-9]*)
    echo "::error title=pgkeel::cannot tell the server's major version" >&2
    exit 1
    ;;
esac
echo "server major version: $major" >&2

# Any installed client as new as the server will do; the newest first.
for have in $(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n -r); do
  dir="/usr/lib/postgresql/$have/bin"
  if [ "$have" -ge "$major" ] 2>/dev/null && [ -x "$dir/pg_dump" ]; then
    echo "using PostgreSQL $have client tools in $dir" >&2
    output bin "$dir"
    exit 0
  fi
done

if [ "$(uname -s)" != Linux ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "::warning title=pgkeel::no PostgreSQL $major client tools found and no apt-get here; install postgresql-client-$major (or postgresql@$major with Homebrew) before this action" >&2
  exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# shellcheck disable=SC1091
. /etc/os-release
echo "installing postgresql-client-$major from apt.postgresql.org" >&2
as_root install -d /usr/share/postgresql-common/pgdg
as_root curl --proto '=https' --tlsv1.2 -fsSL --retry 5 \
  -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
  https://www.postgresql.org/media/keys/ACCC4CF8.asc
echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" |
  as_root tee /etc/apt/sources.list.d/pgdg.list >/dev/null
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-client-$major" >/dev/null
[ -x "/usr/lib/postgresql/$major/bin/pg_dump" ] || {
  echo "::error title=pgkeel::postgresql-client-$major did not install /usr/lib/postgresql/$major/bin/pg_dump" >&2
  exit 1
}
output bin "/usr/lib/postgresql/$major/bin"
