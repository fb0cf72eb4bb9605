#!/usr/bin/env bash
# Builds the `tandem:<tag>` docker image FROM scratch: the tandemd binary and
# the shared libraries it links, nothing else (no registry is needed).
#
#   deploy/build-image.sh [debug|release] [tag]   (defaults: release, latest)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-release}"
tag="${2:-latest}"
case "$profile" in
  release) cargo build --release -p tandemd; bin=target/release/tandemd ;;
  debug) cargo build -p tandemd; bin=target/debug/tandemd ;;
  *) echo "usage: $0 [debug|release] [tag]" >&2; exit 2 ;;
esac
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
install -D -m 0755 "$bin" "$root/usr/bin/tandemd"
# Every shared object the binary needs, at the path the loader expects.
ldd "$bin" | awk '/=> \// { print $3 } /^[[:space:]]*\/lib/ { print $1 }' | while read -r lib; do
  install -D -m 0755 "$lib" "$root$lib"
done
mkdir -p "$root/var/lib/tandem" "$root/tmp"
cp deploy/Dockerfile "$root/Dockerfile"
docker build -q -t "tandem:$tag" "$root" >/dev/null
echo "built tandem:$tag from $bin"
