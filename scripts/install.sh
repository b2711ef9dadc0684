#!/usr/bin/env bash
# Puts a pgkeel binary on the runner for the composite actions (action-*/action.yml call it as
# "$GITHUB_ACTION_PATH/../scripts/install.sh") and writes its path to the step output `path`.
#
# In order:
#   1. PGKEEL_BINARY_PATH (the `binary-path` input): that file, as is.
#   2. a `pgkeel` already on PATH.
#   3. the release named in scripts/release.json (committed next to this script, so pinning the
#      action by tag or by commit pins the binary too): the archive for this OS/architecture is
#      downloaded, its SHA-256 checked against the committed one (a mismatch stops here, nothing
#      is installed), and kept in the runner's tool cache for later steps and jobs.
#   4. no asset for this platform (or no release yet, e.g. the action pinned to a commit
#      between releases): `cargo install --locked --path` from the action's own checkout.
# Inputs arrive as environment variables only; nothing here is interpolated by the runner.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
manifest="$here/release.json"

# Workflow-command data escaping, so a path with a newline cannot forge a command.
escape() {
  local s="$1"
  s="${s//'%'/'%25'}"
  s="${s//$'\r'/'%0D'}"
  s="${s//$'\n'/'%0A'}"
  printf '%s' "$s"
}
log() { printf 'pgkeel install: %s\n' "$(escape "$*")" >&2; }
die() {
  printf '::error title=pgkeel install::%s\n' "$(escape "$*")" >&2
  exit 1
}

random_hex() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# A step output, as a heredoc with a random delimiter.
output() {
  local name="$1" value="$2" delimiter
  delimiter="ghadelimiter_$(random_hex)"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf '%s<<%s\n%s\n%s\n' "$name" "$delimiter" "$value" "$delimiter" >>"$GITHUB_OUTPUT"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# Reads a field of scripts/release.json: version, download, or assets.<target>.<field>.
manifest_get() {
  local query="$1"
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$manifest" "$query" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print("" if value is None else value)
PY
  elif command -v jq >/dev/null 2>&1; then
    jq -r --arg q "$query" 'getpath($q | split(".")) // ""' "$manifest"
  else
    die "reading scripts/release.json needs python3 or jq"
  fi
}

use() {
  local bin="$1" how="$2" version
  version="$("$bin" --version 2>/dev/null)" || die "$bin does not run ($how)"
  log "using $bin ($version, $how)"
  output path "$bin"
  output version "${version#pgkeel }"
  output source "$how"
  exit 0
}

if [ -n "${PGKEEL_BINARY_PATH:-}" ]; then
  [ -f "$PGKEEL_BINARY_PATH" ] && [ -x "$PGKEEL_BINARY_PATH" ] ||
    die "binary-path: $PGKEEL_BINARY_PATH is not an executable file"
  use "$(cd "$(dirname "$PGKEEL_BINARY_PATH")" && pwd)/$(basename "$PGKEEL_BINARY_PATH")" binary-path
fi

if on_path="$(command -v pgkeel 2>/dev/null)"; then
  use "$on_path" path
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/amd64) target=x86_64-unknown-linux-musl ;;
  Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
  Darwin/x86_64) target=x86_64-apple-darwin ;;
  Darwin/arm64 | Darwin/aarch64) target=aarch64-apple-darwin ;;
  *) target="" ;;
esac

version="$(manifest_get version)"
[ -n "$version" ] || die "scripts/release.json has no version"
cache_root="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/pgkeel"
file=""
expected=""
if [ -n "$target" ]; then
  file="$(manifest_get "assets.$target.file")"
  expected="$(manifest_get "assets.$target.sha256")"
fi

if [ -n "$file" ] && [ -n "$expected" ]; then
  cache="$cache_root/$version/$target"
  if [ -x "$cache/pgkeel" ] && [ "$(cat "$cache/.sha256" 2>/dev/null)" = "$expected" ]; then
    use "$cache/pgkeel" cache
  fi
  template="$(manifest_get download)"
  url="${template//\{version\}/$version}"
  url="${url//\{file\}/$file}"
  tmp="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/pgkeel-install.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "downloading $url"
  curl --proto '=https,file' --proto-redir '=https' --tlsv1.2 -fsSL --retry 5 --retry-delay 2 \
    -o "$tmp/$file" "$url" || die "cannot download $url"
  actual="$(sha256_of "$tmp/$file")"
  # Fail closed: the committed checksum is the only one trusted (not one from the release).
  [ "$actual" = "$expected" ] ||
    die "checksum mismatch for $file: scripts/release.json says $expected, the download is $actual; nothing was installed"
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp/$file" -C "$tmp/unpacked"
  found="$(find "$tmp/unpacked" -type f -name pgkeel | head -n 1)"
  [ -n "$found" ] || die "$file holds no pgkeel binary"
  mkdir -p "$cache"
  install -m 755 "$found" "$cache/pgkeel.partial"
  mv -f "$cache/pgkeel.partial" "$cache/pgkeel"
  printf '%s' "$expected" >"$cache/.sha256"
  use "$cache/pgkeel" download
fi

# No release asset for this platform: build the action's own source.
command -v cargo >/dev/null 2>&1 ||
  die "no release asset for ${target:-$(uname -s)/$(uname -m)} in scripts/release.json (version $version), and cargo is not installed to build one with cargo install --locked --path: install Rust (rustup) or pass binary-path"
# The build is cached under a key of the sources, so later steps and jobs reuse it.
key="$(
  cd "$root" && {
    cat Cargo.toml Cargo.lock
    find src -type f -print0 | LC_ALL=C sort -z | xargs -0 cat
  } | sha256_of /dev/stdin | cut -c1-16
)"
cache="$cache_root/source-$key"
if [ -x "$cache/bin/pgkeel" ]; then
  use "$cache/bin/pgkeel" cache
fi
log "no release asset for ${target:-this platform}: building from source with cargo install (takes minutes)"
cargo install --locked --quiet --path "$root" --root "$cache" >&2
use "$cache/bin/pgkeel" cargo
