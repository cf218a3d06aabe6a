#!/usr/bin/env bash
# An embedder's view of libaegis: install into a temporary DESTDIR, then
# compile and run a program that finds the library only through
# pkg-config (static and shared), including every public header.
# Usage: test_embed.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet >/dev/null
pc=$(find "$tmp/root" -name libaegis.pc | head -n 1)
[ -n "$pc" ] || { echo "libaegis.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$tmp/root"
libdir=$(dirname "$(dirname "$pc")")

incdir=$(pkg-config --variable=includedir libaegis)  # sysroot already applied
for h in "$incdir"/aegis/*.h; do
	echo "#include <aegis/$(basename "$h")>"
done >"$tmp/all_headers.c"
echo 'int main(void) { return 0; }' >>"$tmp/all_headers.c"
cc -std=gnu11 -Wall -Wextra -Werror $(pkg-config --cflags libaegis) \
	"$tmp/all_headers.c" -o "$tmp/all_headers"

cc -std=gnu11 -Wall -Wextra -Werror $(pkg-config --cflags libaegis) \
	"$src/embed_main.c" -o "$tmp/embed_shared" $(pkg-config --libs libaegis)
LD_LIBRARY_PATH="$libdir" "$tmp/embed_shared"

cc -std=gnu11 -Wall -Wextra -Werror -static-libgcc $(pkg-config --cflags libaegis) \
	"$src/embed_main.c" -o "$tmp/embed_static" "$libdir/libaegis.a" \
	$(pkg-config --libs-only-l --static libaegis | sed 's/-laegis//')
"$tmp/embed_static"
echo "embed: headers, shared and static link OK"

# An embedded node (aegis/node.h): libaegis_node.pc, installed files only.
# Built twice, as an embedder would: with cc and pkg-config, and as its own
# meson project (embed/meson.build: dependency('libaegis_node')). It runs a
# node in-process, checks its client used the in-process path (local_ops,
# no datagram on the socket for its own shards), restarts it, and runs two
# nodes where half the shards go over UDP.
pkg-config --exists libaegis_node || { echo "libaegis_node.pc not installed"; exit 1; }
cc -std=gnu11 -Wall -Wextra -Werror $(pkg-config --cflags libaegis_node) \
	"$src/embed/embed_node.c" -o "$tmp/embed_node_cc" $(pkg-config --libs libaegis_node)
if command -v meson >/dev/null; then
	meson setup "$tmp/embed_build" "$src/embed" >"$tmp/embed_setup.log" 2>&1 ||
		{ cat "$tmp/embed_setup.log"; exit 1; }
	ninja -C "$tmp/embed_build" >"$tmp/embed_ninja.log" 2>&1 || { cat "$tmp/embed_ninja.log"; exit 1; }
	node_bin="$tmp/embed_build/embed_node"
else
	node_bin="$tmp/embed_node_cc"
fi
# Nothing of the build tree may be needed at run time.
if ldd "$node_bin" | grep -q "$build"; then
	echo "embed_node links against the build tree:"; ldd "$node_bin"; exit 1
fi
mkdir -p "$tmp/data"
port=$((31000 + ($$ % 300) * 100))
LD_LIBRARY_PATH="$libdir" timeout -k 5 100 "$node_bin" "$tmp/data" "$port"
echo "embed: embedded node OK"
