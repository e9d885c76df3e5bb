#!/usr/bin/env bash
# The test fixtures under tests/fixtures/projects/ are projects in the shapes users have, with
# dependencies. A user has built their project once, so its dependencies are in their caches
# (Go's module cache, cargo's registry, ~/.m2); PerfOrch then builds offline. This puts the
# fixtures' dependencies there the same way (network: the registries), once per fixture version.
set -euo pipefail
cd "$(dirname "$0")/.."
F=tests/fixtures/projects
stamp_dir="${PERFORCH_CACHE:-$HOME/.cache/perforch}/fixtures"
mkdir -p "$stamp_dir"
want=$(cat "$F/go/textstats/go.sum" "$F/rust/numkit/Cargo.lock" "$F/java/wordstats/pom.xml" | md5sum | cut -c1-16)
if [ "$(cat "$stamp_dir/deps" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "perforch setup: the fixture projects' dependencies (go mod download, cargo fetch, mvn)"
(cd "$F/go/textstats" && GOFLAGS=-mod=mod go mod download)
(cd "$F/rust/numkit" && cargo fetch --locked -q)
# Maven: the dependencies and the plugin PerfOrch asks for the classpath (offline later).
(cd "$F/java/wordstats" && mvn -B -q dependency:build-classpath -Dmdep.outputFile=/dev/null >/dev/null)
echo "$want" > "$stamp_dir/deps"
