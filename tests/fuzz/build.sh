#!/bin/sh
# Build every libFuzzer target tests/fuzz/fuzz_*.c into build-fuzz/.
# The agent's library sources are compiled with coverage instrumentation and
# ASan+UBSan; each target links them with -fsanitize=fuzzer.
set -eu
cd "$(dirname "$0")/../.."
out=build-fuzz
mkdir -p "$out/obj"
CC=${FUZZ_CC:-clang}
FLAGS="-g -O1 -std=gnu11 -D_GNU_SOURCE -I. -DAGENT_VERSION=\"2.2\" -DAGENT_BUILD=\"fuzz\" -I/usr/include/libxml2 -I/usr/include/libnl3 -fsanitize=address,undefined -fno-sanitize-recover=undefined"
LIBS="-lssl -lcrypto -lcrypt -lpam -llmdb -lxml2 -lxmlrpc -lxmlrpc_xmlparse -lxmlrpc_xmltok -lxmlrpc_util -lnl-route-3 -lnl-3 -lcpg -lvotequorum -lcmap -lcorosync_common"
objs=""
for src in $(ls agent/*/*.c hypervisor/*.c hypervisor/*/*.c db/*.c 2>/dev/null | grep -v '^agent/server/main.c$'); do
	o="$out/obj/$(echo "$src" | tr / _).o"
	if [ ! -e "$o" ] || [ "$src" -nt "$o" ] || [ -n "$(find agent hypervisor db -name '*.h' -newer "$o" 2>/dev/null | head -1)" ]; then
		$CC $FLAGS -fsanitize=fuzzer-no-link -c -o "$o" "$src"
	fi
	objs="$objs $o"
done
# An archive, so each target links only the objects it needs.
rm -f "$out/libagent.a"
ar rcs "$out/libagent.a" $objs
for t in tests/fuzz/fuzz_*.c; do
	name=$(basename "$t" .c)
	$CC $FLAGS -fsanitize=fuzzer -o "$out/$name" "$t" "$out/libagent.a" $LIBS
done
echo "fuzz targets built in $out/"
