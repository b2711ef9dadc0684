#!/usr/bin/env bash
# The project's test command (README "Run the tests"; .ci/run calls exactly this).
# Installs what the suite needs when absent, then: cargo fmt --check, clippy -D warnings, and
# every test against a real PostgreSQL that the harness starts itself.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

have_initdb() {
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null 2>&1 && return 0
  [ -n "${PGKEEL_PG_BIN:-}" ] && [ -x "${PGKEEL_PG_BIN}/initdb" ] && return 0
  [ -n "${PGKEEL_TEST_DATABASE_URL:-}" ]
}

if ! have_initdb; then
  echo "PostgreSQL server binaries not found: installing them with apt-get" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
fi
if ! have_initdb; then
  echo "error: no initdb after installing PostgreSQL; set PGKEEL_PG_BIN to its bin directory" >&2
  exit 1
fi

for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done

# The real migration tools the format-compatibility tests check pgkeel against.
export PGKEEL_TOOLS_DIR="${PGKEEL_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgkeel/tools}"
bash scripts/test-tools.sh

# A build cache outside the clone keeps repeated CI runs fast.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgkeel-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --all-targets
