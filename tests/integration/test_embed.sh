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
