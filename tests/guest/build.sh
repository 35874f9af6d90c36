#!/bin/sh
# Build the tiny end-to-end test guest from Debian packages:
#   OUTDIR/vmlinuz     Debian's kernel (linux-image-amd64's current image package)
#   OUTDIR/initrd.img  gzip'd newc cpio: static busybox + /init + button.ko, evdev.ko
#                      and the NIC drivers QEMU's models need (e1000, e100,
#                      8139cp/8139too, virtio_net) with what they depend on
#   OUTDIR/vmlinux     the same kernel decompressed (PVH ELF): boots ~2x faster
#                      under TCG (skips the in-guest xz decompression); best effort
# Usage: tests/guest/build.sh OUTDIR     (root or not; see README.md)
# Needs: apt-get, dpkg-deb, tar, python3 (no cpio, no root: the archive is
# written by python3, device nodes included).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)

# Idempotent: nothing to do when both outputs are newer than this script and /init.
uptodate=1
for f in "$out/vmlinuz" "$out/initrd.img"; do
	for s in "$here/build.sh" "$here/init"; do
		[ -s "$f" ] && [ "$f" -nt "$s" ] || uptodate=0
	done
done
[ $uptodate = 1 ] && { echo "guest: $out is up to date"; exit 0; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ovs-guest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"

# As root apt downloads as user _apt, which cannot write into our private dir.
aptopt=""
[ "$(id -u)" = 0 ] && aptopt="-o APT::Sandbox::User=root"

kpkg() {	# linux-image-amd64 is a metapackage: find the real image package
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1
}
fetch() {
	k=${OVS_GUEST_KERNEL_PKG:-$(kpkg)}
	[ -n "$k" ] && apt-get -q $aptopt download "$k" busybox-static >/dev/null
}
if ! fetch; then
	[ "$(id -u)" = 0 ] || { echo "guest: apt-get download failed (apt lists stale? run 'apt-get update' as root)" >&2; exit 1; }
	echo "guest: download failed, running apt-get update" >&2
	apt-get -q update >/dev/null
	fetch || { echo "guest: apt-get download failed" >&2; exit 1; }
fi
echo "guest: using $k and busybox-static"

# Extract only what we need (the kernel package holds ~400 MB of modules).
mkdir x
dpkg-deb --fsys-tarfile busybox-static_*.deb | tar -x -C x --wildcards '*bin/busybox'
# Modules: the power button's, then NIC drivers for QEMU's e1000, i82557b
# (e100), rtl8139 (8139cp; 8139too for older chips) and virtio-net-pci,
# and the modules those depend on (checked below: a kernel that needs one
# more fails the build, naming it).
km='*/kernel/drivers'
dpkg-deb --fsys-tarfile "$k"_*.deb | tar -x -C x --wildcards \
	'*boot/vmlinuz-*' '*boot/config-*' "$km/input/evdev.ko*" "$km/acpi/button.ko*" \
	"$km/net/ethernet/intel/e1000/e1000.ko*" "$km/net/ethernet/intel/e100.ko*" \
	"$km/net/ethernet/realtek/8139cp.ko*" "$km/net/ethernet/realtek/8139too.ko*" \
	"$km/net/mii.ko*" "$km/net/virtio_net.ko*" "$km/net/net_failover.ko*" \
	'*/kernel/net/core/failover.ko*' "$km/virtio/virtio.ko*" "$km/virtio/virtio_ring.ko*" \
	"$km/virtio/virtio_pci.ko*" "$km/virtio/virtio_pci_legacy_dev.ko*" \
	"$km/virtio/virtio_pci_modern_dev.ko*"

mkdir mods
for m in $(find x -name '*.ko*'); do
	# Debian 12 ships plain .ko; newer releases compress them.
	case $m in
	*.ko) cp "$m" mods/ ;;
	*.ko.xz) xz -dc "$m" >"mods/$(basename "$m" .xz)" ;;
	*.ko.zst) zstd -qdc "$m" >"mods/$(basename "$m" .zst)" ;;
	*.ko.gz) gzip -dc "$m" >"mods/$(basename "$m" .gz)" ;;
	esac
done
bb=$(find x -path '*bin/busybox' -type f | head -n 1)
vmlinuz=$(find x -path '*boot/vmlinuz-*' -type f | head -n 1)
[ -n "$bb" ] && [ -n "$vmlinuz" ] || { echo "guest: busybox or kernel missing from packages" >&2; exit 1; }

python3 - "$out/.initrd.img.tmp" "$bb" "$here/init" mods <<'PY'
import gzip, os, struct, sys
dst, busybox, init, mods = sys.argv[1:]
applets = """sh mount umount cat echo dd insmod lsmod poweroff reboot halt sleep
kill sync uname ls grep mkdir dmesg ps ip ping nc wc""".split()
buf, ino = bytearray(), [300000]
def ent(name, mode, data=b"", rdev=(0, 0), nlink=1):
    ino[0] += 1
    name = name.encode() + b"\0"
    f = (ino[0], mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name), 0)
    buf.extend(b"070701" + b"".join(b"%08X" % v for v in f) + name)
    buf.extend(b"\0" * (-(110 + len(name)) % 4) + data + b"\0" * (-len(data) % 4))
def rd(p):
    with open(p, "rb") as f: return f.read()
for d in ("bin", "dev", "dev/input", "proc", "sys", "lib", "lib/modules", "tmp"):
    ent(d, 0o040755, nlink=2)
ent("dev/console", 0o020600, rdev=(5, 1))
ent("dev/null", 0o020666, rdev=(1, 3))
ent("dev/ttyS0", 0o020660, rdev=(4, 64))
ent("bin/busybox", 0o100755, rd(busybox))
for a in applets:
    ent("bin/" + a, 0o120777, b"busybox")
ent("init", 0o100755, rd(init))
# /init loads lib/modules/order's modules in that order: each after the
# ones its .modinfo "depends=" names (there is no depmod in the initrd).
def modinfo(data):
    """The key=value strings of an ELF64 module's .modinfo section."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    def sec(i):     # (name offset, file offset, size)
        h = shoff + i * shentsize
        return struct.unpack_from("<I", data, h)[0], *struct.unpack_from("<QQ", data, h + 24)
    strtab = sec(shstrndx)[1]
    for i in range(shnum):
        name, off, size = sec(i)
        if data[strtab + name:data.index(b"\0", strtab + name)] == b".modinfo":
            return dict(kv.decode().split("=", 1)
                        for kv in data[off:off + size].split(b"\0") if b"=" in kv)
    return {}
files, deps = {}, {}
for m in sorted(os.listdir(mods)):
    data = rd(os.path.join(mods, m))
    ent("lib/modules/" + m, 0o100644, data)
    info = modinfo(data)
    name = info.get("name", m[:-3].replace("-", "_"))
    files[name] = m
    deps[name] = [d for d in info.get("depends", "").split(",") if d]
order = []
def visit(m, by):
    if m in order:
        return
    if m not in deps:
        sys.exit("guest: module %s (needed by %s) is not in the initrd: add it to build.sh"
                 % (m, by))
    for d in deps[m]:
        visit(d, m)
    order.append(m)
for m in sorted(deps):
    visit(m, "-")
ent("lib/modules/order", 0o100644, "".join(files[m] + "\n" for m in order).encode())
ent("TRAILER!!!", 0)
with open(dst, "wb") as f:
    f.write(gzip.compress(bytes(buf), 9, mtime=0))
PY
# PVH entry lets QEMU boot the uncompressed ELF directly (-kernel vmlinux).
rm -f "$out/vmlinux"
if grep -qs '^CONFIG_PVH=y' x/boot/config-* && python3 - "$vmlinuz" "$out/.vmlinux.tmp" <<'PY'
import lzma, sys, zlib
d = open(sys.argv[1], "rb").read()
for magic, dec in ((b"\xfd7zXZ\x00", lambda: lzma.LZMADecompressor()),
                   (b"\x1f\x8b\x08", lambda: zlib.decompressobj(31))):
    i = d.find(magic)
    if i < 0: continue
    try: v = dec().decompress(d[i:])
    except Exception: continue
    if v[:4] == b"\x7fELF":
        open(sys.argv[2], "wb").write(v); sys.exit(0)
sys.exit(1)
PY
then mv -f "$out/.vmlinux.tmp" "$out/vmlinux"
else rm -f "$out/.vmlinux.tmp"; echo "guest: note: no PVH vmlinux (use vmlinuz)" >&2
fi
cp "$vmlinuz" "$out/.vmlinuz.tmp"
mv -f "$out/.vmlinuz.tmp" "$out/vmlinuz"
mv -f "$out/.initrd.img.tmp" "$out/initrd.img"
echo "guest: built $out/vmlinuz ($(wc -c <"$out/vmlinuz") bytes), $out/initrd.img ($(wc -c <"$out/initrd.img") bytes)"
