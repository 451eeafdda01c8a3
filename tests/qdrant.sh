#!/usr/bin/env bash
# The Qdrant server the Qdrant-backend tests run against.
#
#   bash tests/qdrant.sh build    build Qdrant v1.18.3 from source into the cache (idempotent);
#                                 prints the binary path
#   bash tests/qdrant.sh start    start one node on free loopback ports with a temporary
#                                 storage directory; prints "grpc=URL http=URL pid=PID dir=DIR"
#
# Source: $SIMTHEME_QDRANT_SRC, a Qdrant source directory (its Cargo.toml builds `qdrant`), or
# $SIMTHEME_QDRANT_TARBALL, a tarball holding qdrant-1.18.3/qdrant (extracted into the cache).
# Cache: $SIMTHEME_QDRANT_CACHE, default ~/.cache/simtheme/qdrant-1.18.3 (outside the repo).
# The tests find the binary there, or wherever $SIMTHEME_QDRANT_BIN points. Building needs cargo,
# clang, cmake and protoc (Debian: apt-get install -y clang cmake protobuf-compiler) and takes
# about 21 minutes on 2 cores.
set -euo pipefail
cache=${SIMTHEME_QDRANT_CACHE:-$HOME/.cache/simtheme/qdrant-1.18.3}
bin=${SIMTHEME_QDRANT_BIN:-$cache/qdrant}

build() {
  if [ -x "$bin" ]; then echo "$bin"; return 0; fi
  local src=${SIMTHEME_QDRANT_SRC:-}
  if [ -z "$src" ] && [ -n "${SIMTHEME_QDRANT_TARBALL:-}" ]; then
    mkdir -p "$cache/src"
    [ -f "$cache/src/qdrant-1.18.3/qdrant/Cargo.toml" ] || tar -xzf "$SIMTHEME_QDRANT_TARBALL" -C "$cache/src"
    src=$cache/src/qdrant-1.18.3/qdrant
  fi
  if [ -z "$src" ] || [ ! -f "$src/Cargo.toml" ]; then
    echo "tests/qdrant.sh: set SIMTHEME_QDRANT_SRC to a Qdrant source directory (or SIMTHEME_QDRANT_TARBALL)" >&2
    return 1
  fi
  for tool in cargo clang cmake protoc; do
    command -v "$tool" >/dev/null || { echo "tests/qdrant.sh: '$tool' is needed (apt-get install -y clang cmake protobuf-compiler)" >&2; return 1; }
  done
  local start=$SECONDS
  # Upstream's release profile uses fat LTO (about three times longer to build).
  (cd "$src" && CARGO_TARGET_DIR="$cache/target" CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo build --release --locked --bin qdrant >&2)
  mkdir -p "$(dirname "$bin")"
  cp "$cache/target/release/qdrant" "$bin.tmp" && mv "$bin.tmp" "$bin"
  rm -rf "$cache/target"
  echo "tests/qdrant.sh: built $bin in $((SECONDS - start)) s" >&2
  echo "$bin"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  [ -x "$bin" ] || { echo "tests/qdrant.sh: no binary at $bin; run 'bash tests/qdrant.sh build' first" >&2; return 1; }
  local dir http grpc
  dir=$(mktemp -d -t simtheme-qdrant-XXXXXX)
  http=$(free_port); grpc=$(free_port)
  (cd "$dir" && QDRANT__SERVICE__HOST=127.0.0.1 QDRANT__SERVICE__HTTP_PORT=$http QDRANT__SERVICE__GRPC_PORT=$grpc \
    QDRANT__STORAGE__STORAGE_PATH=$dir/storage QDRANT__STORAGE__SNAPSHOTS_PATH=$dir/snapshots \
    QDRANT__TELEMETRY_DISABLED=true nohup "$bin" >"$dir/qdrant.log" 2>&1 &
    echo $! >"$dir/pid")
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$http/readyz" >/dev/null 2>&1; then
      echo "grpc=http://127.0.0.1:$grpc http=http://127.0.0.1:$http pid=$(cat "$dir/pid") dir=$dir"
      return 0
    fi
    sleep 0.2
  done
  echo "tests/qdrant.sh: Qdrant did not become ready; see $dir/qdrant.log" >&2
  return 1
}

case "${1:-}" in
  build) build ;;
  start) start ;;
  *) echo "usage: bash tests/qdrant.sh build|start" >&2; exit 2 ;;
esac
