/* test_qemu_argv.c - vm.cfg texts (the guide's own where it has one) to
 * the exact QEMU command line, and the configurations that must be
 * refused rather than half translated. */
#include "harness.h"
#include "hypervisor/hv.h"
#include "hypervisor/qemu/qemu_argv.h"
#include "hypervisor/vmcfg.h"
#include "agent/base/util.h"

#include <stdlib.h>
#include <string.h>

#define BIN "/usr/bin/qemu-system-x86_64"
#define UUID "6f1a6d2e-4c1b-4f3e-9a2b-0c1d2e3f4a5b"
#define RUNDIR "/run/ovs-agent"
#define GDIR "/OVS/running_pool/g"

/* What every guest gets, up to the display. */
#define HEAD_ACCEL(name, mem, cpus, machine)                                            \
	BIN " -name guest=" name ",debug-threads=on -uuid " UUID " -machine " machine      \
	" -m " mem "M -smp " cpus " -nodefaults -no-user-config -daemonize -pidfile "     \
	RUNDIR "/" UUID ".pid -qmp unix:" RUNDIR "/" UUID ".qmp,server=on,wait=off "            \
	"-chardev socket,id=serial0,path=" RUNDIR "/" UUID ".console,server=on,wait=off "    \
	"-serial chardev:serial0 -vga std"
#define HEAD(name, mem, cpus) HEAD_ACCEL(name, mem, cpus, "pc,accel=kvm")

enum { NET = 1, TCG = 2, DEFER = 4, NO_DISPLAY = 8, PAUSED = 16 };

struct tcase {
	const char *label;
	const char *cfg;
	int flags;
	const char *want;   /* the argv joined with spaces, or "!" and part of the error */
};

/* Guide 4.x: the hvm example without its Python lines. */
#define HVM_EXAMPLE                                                     \
	"# Kernel for hvm domain will be hvmloder\n"                    \
	"kernel=\"/usr/lib/xen/boot/hvmloder\"\n"                       \
	"builder='hvm'\n"                                               \
	"memory=3000\n"                                                 \
	"name=\"hvm-dom\"\n"                                            \
	"vcpus=4\n"                                                     \
	"vif=[ 'mac=00:50:56:1e:34:b5 , bridge=xenbr0' ]\n"             \
	"disk=[ 'phy:/dev/cciss/c0d1,hda,w' ]\n"                        \
	"sdl=0\n"                                                       \
	"vnc=1\n"                                                       \
	"vncviewer=1\n"                                                 \
	"vncpasswd=\"welcome\"\n"                                       \
	"vnclisten=\"0.0.0.0\"\n"                                       \
	"ne2000=1\n"                                                    \
	"serial='pty'\n"                                                \
	"usb=1\n"                                                       \
	"usbdevice='mouse'\n"

/* Appendix C.3. */
#define APPENDIX_C3                                                     \
	"disk = [ 'file:/mnt/el4u5_64_hvm//system.img,hda,w' ]\n"       \
	"memory=4096\n"                                                 \
	"vcpus=2\n"                                                     \
	"name=\"el4u5_64_hvm\"\n"                                       \
	"vif = [ ' ' ] #By default no n/w interfaces are configured.\n" \
	"builder = \"hvm\"\n"                                           \
	"device_model = \"/usr/lib/xen/bin/qemu-dm\"\n"                 \
	"vnc=1\n"                                                       \
	"vncunused=1\n"                                                 \
	"apic=1\n"                                                      \
	"acpi=1\n"                                                      \
	"pae=1\n"                                                       \
	"serial = \"pty\" # enable serial console\n"                    \
	"on_reboot   = 'restart'\n"                                     \
	"on_crash    = 'restart'\n"

static const struct tcase cases[] = {
	{ "guide hvm example: phy disk, vnc with password and vnclisten", HVM_EXAMPLE, 0,
	  HEAD("hvm-dom", "3000", "4") " -vnc 0.0.0.0:3,password=on -usb -device usb-mouse"
	  " -drive file=/dev/cciss/c0d1,format=raw,if=ide,index=0,media=disk,cache=none"
	  " -boot order=c" },
	{ "guide hvm example with network: ne2000=1 picks ne2k_pci", HVM_EXAMPLE, NET,
	  HEAD("hvm-dom", "3000", "4") " -vnc 0.0.0.0:3,password=on -usb -device usb-mouse"
	  " -drive file=/dev/cciss/c0d1,format=raw,if=ide,index=0,media=disk,cache=none"
	  " -boot order=c -netdev tap,id=net0,fd=20"
	  " -device ne2k_pci,netdev=net0,mac=00:50:56:1e:34:b5" },
	{ "appendix C.3: vncunused, default listen, Xen-only keys ignored", APPENDIX_C3, 0,
	  HEAD("el4u5_64_hvm", "4096", "2") " -vnc 127.0.0.1:3"
	  " -drive file=/mnt/el4u5_64_hvm//system.img,format=raw,if=ide,index=0,media=disk"
	  " -boot order=c" },
	/* 00:16:3e:3c:fb:d2 is hashed from the uuid and NIC 0: pinned, since a
	 * change would give every guest a new MAC on upgrade. */
	{ "appendix C.3 with network: an empty vif item is one default NIC", APPENDIX_C3, NET,
	  HEAD("el4u5_64_hvm", "4096", "2") " -vnc 127.0.0.1:3"
	  " -drive file=/mnt/el4u5_64_hvm//system.img,format=raw,if=ide,index=0,media=disk"
	  " -boot order=c -netdev tap,id=net0,fd=20"
	  " -device e1000,netdev=net0,mac=00:16:3e:3c:fb:d2" },
	{ "appendix C.4: four phy disks, two shared (w!), vnc from vfb",
	  "name='c4'\nmemory=1024\n"
	  "disk = [ 'phy:/dev/vgxen/lvol0,hda,w',\n"
	  "        'phy:/dev/vgxen/tls4-swap,hdb,w',\n"
	  "        'phy:/dev/vgxen/sharedvol1,hdc,w!',\n"
	  "        'phy:/dev/vgxen/sharedvol2,hdd,w!' ]\n"
	  "vfb = [ \"type=vnc,vncunused=1,vnclisten=0.0.0.0\" ]\n", 0,
	  HEAD("c4", "1024", "1") " -vnc 0.0.0.0:3"
	  " -drive file=/dev/vgxen/lvol0,format=raw,if=ide,index=0,media=disk,cache=none"
	  " -drive file=/dev/vgxen/tls4-swap,format=raw,if=ide,index=1,media=disk,cache=none"
	  " -drive file=/dev/vgxen/sharedvol1,format=raw,if=ide,index=2,media=disk,cache=none,"
	  "file.locking=off"
	  " -drive file=/dev/vgxen/sharedvol2,format=raw,if=ide,index=3,media=disk,cache=none,"
	  "file.locking=off -boot order=c" },
	{ "guide 4.8: PV guest with pygrub boots the disk's own loader",
	  "name = \"el4u4\"\nmemory = \"512\"\n"
	  "disk = [ 'phy:/dev/VolGroup00/el4u4,hda,w', ]\nvif = [ 'bridge=xenbr0', ]\n"
	  "bootloader=\"/usr/bin/pygrub\"\nkernel='/boot/vmlinuz-2.6.9'\nvcpus=1\n"
	  "on_reboot = 'restart'\non_crash = 'restart'\n", 0,
	  HEAD("el4u4", "512", "1") " -display none"
	  " -drive file=/dev/VolGroup00/el4u4,format=raw,if=ide,index=0,media=disk,cache=none"
	  " -boot order=c" },
	{ "empty cdrom and boot 'dc'",
	  "name='inst'\nmemory=512\nboot='dc'\n"
	  "disk=[ ',hdc:cdrom,r', 'file:/OVS/running_pool/inst/system.img,hda,w' ]\n", 0,
	  HEAD("inst", "512", "1") " -display none"
	  " -drive file=/OVS/running_pool/inst/system.img,format=raw,if=ide,index=0,media=disk"
	  " -drive if=ide,index=2,media=cdrom,readonly=on -boot order=dc" },
	{ "cdrom with an ISO, on_reboot=destroy (install then stop)",
	  "name='inst'\nmemory=512\nboot='d'\non_reboot='destroy'\n"
	  "disk=[ 'file:/OVS/iso/el5.iso,hdc:cdrom,r', 'file:/OVS/running_pool/inst/system.img,hda,w' ]\n",
	  0,
	  HEAD("inst", "512", "1") " -display none -no-reboot"
	  " -drive file=/OVS/running_pool/inst/system.img,format=raw,if=ide,index=0,media=disk"
	  " -drive file=/OVS/iso/el5.iso,format=raw,if=ide,index=2,media=cdrom,readonly=on"
	  " -boot order=d" },
	{ "cdrom key with a comma in the path is escaped for QEMU",
	  "name='w'\nmemory=512\ndisk=[ 'file:/ovm/guests/win2003sp1.dsk,hda,w' ]\n"
	  "cdrom=\"/ovm/ISO/win,sp1.iso\"\n", 0,
	  HEAD("w", "512", "1") " -display none"
	  " -drive file=/ovm/guests/win2003sp1.dsk,format=raw,if=ide,index=0,media=disk"
	  " -drive file=/ovm/ISO/win,,sp1.iso,format=raw,if=ide,index=2,media=cdrom,readonly=on"
	  " -boot order=c" },
	{ "guide E.11: cdrom key repeating the hdc item gives one drive",
	  "name='w'\nmemory=512\nlocaltime=1\n"
	  "disk = [ 'file:/ovm/guests/win2003sp1.dsk,hda,w', 'file:/ovm/trees/ISO/WIN/en.iso,hdc:cdrom,r', ]\n"
	  "cdrom=\"/ovm/trees/ISO/WIN/en.iso\"\n", 0,
	  HEAD("w", "512", "1") " -display none -rtc base=localtime"
	  " -drive file=/ovm/guests/win2003sp1.dsk,format=raw,if=ide,index=0,media=disk"
	  " -drive file=/ovm/trees/ISO/WIN/en.iso,format=raw,if=ide,index=2,media=cdrom,readonly=on"
	  " -boot order=c" },
	{ "name with a comma; a read-only data disk",
	  "name='web,prod'\nmemory=256\n"
	  "disk=[ 'file:/OVS/g/system.img,hda,w', 'file:/OVS/shared/data.img,hdb,r' ]\n", 0,
	  HEAD("web,,prod", "256", "1") " -display none"
	  " -drive file=/OVS/g/system.img,format=raw,if=ide,index=0,media=disk"
	  " -drive file=/OVS/shared/data.img,format=raw,if=ide,index=1,media=disk,readonly=on"
	  " -boot order=c" },
	{ "xvd and sd disks go on virtio in letter order; tap kinds",
	  "name='pv'\nmemory=512\n"
	  "disk=[ 'tap:qcow2:/OVS/g/data.qcow2,xvdc,w', 'tap:aio:/OVS/g/system.img,xvda,w',\n"
	  "       'tap:qcow:/OVS/g/old.qcow,sdb,r', 'phy:sdz,xvdz,w' ]\n", 0,
	  HEAD("pv", "512", "1") " -display none"
	  " -drive file=/OVS/g/system.img,format=raw,if=none,id=disk-vda"
	  " -device virtio-blk-pci,drive=disk-vda"
	  " -drive file=/OVS/g/old.qcow,format=qcow,if=none,id=disk-vdb,readonly=on"
	  " -device virtio-blk-pci,drive=disk-vdb"
	  " -drive file=/OVS/g/data.qcow2,format=qcow2,if=none,id=disk-vdc"
	  " -device virtio-blk-pci,drive=disk-vdc"
	  " -drive file=/dev/sdz,format=raw,if=none,id=disk-vdz,cache=none"
	  " -device virtio-blk-pci,drive=disk-vdz -boot order=c" },
	{ "old ioemu: device prefix",
	  "name='o'\nmemory=512\ndisk=[ 'file:/OVS/o.img,ioemu:hda,w' ]\n", 0,
	  HEAD("o", "512", "1") " -display none"
	  " -drive file=/OVS/o.img,format=raw,if=ide,index=0,media=disk -boot order=c" },
	{ "PV direct kernel boot (root and extra make xm's command line)",
	  "name='k'\nmemory=128\nkernel='/boot/vmlinuz'\nramdisk='/boot/initrd.img'\n"
	  "root='/dev/vda1 ro'\nextra='console=ttyS0'\ndisk=[ 'file:/OVS/k/root.img,xvda,w' ]\n",
	  0,
	  HEAD("k", "128", "1") " -display none"
	  " -drive file=/OVS/k/root.img,format=raw,if=none,id=disk-vda"
	  " -device virtio-blk-pci,drive=disk-vda -boot order=c"
	  " -kernel /boot/vmlinuz -initrd /boot/initrd.img -append root=/dev/vda1 ro console=ttyS0" },
	{ "kernel alone, builder='linux'",
	  "name='k'\nmemory=128\nbuilder='linux'\nkernel='/boot/bzImage'\n", 0,
	  HEAD("k", "128", "1") " -display none -boot order=c -kernel /boot/bzImage" },
	{ "TCG, acpi=0, incoming migration, no disks",
	  "name='m'\nmemory=64\nacpi=0\nvnc=0\nvncpasswd='x'\n", TCG | DEFER,
	  HEAD_ACCEL("m", "64", "1", "pc,accel=tcg,acpi=off") " -display none -boot order=c"
	  " -S -incoming defer" },
	{ "PV vfb with a password; IPv6 listen",
	  "name='v'\nmemory=64\n"
	  "vfb = ['type=vnc,vncunused=1,vnclisten=::1,vncpasswd=mypassword']\n", 0,
	  HEAD("v", "64", "1") " -vnc [::1]:3,password=on -boot order=c" },
	{ "an explicit vnc=0 wins over a vfb", "name='v'\nmemory=64\nvnc=0\n"
	  "vfb = ['type=vnc']\n", 0, HEAD("v", "64", "1") " -display none -boot order=c" },
	/* vnc=0: no display at all, and none need be allocated for it */
	{ "vnc=0 beside every other VNC key",
	  "name='v'\nmemory=64\nvnc=0\nvncunused=0\nvncdisplay=2\nvnclisten='0.0.0.0'\n"
	  "vncpasswd='pw'\nvncviewer=1\nvncconsole=1\n", NO_DISPLAY,
	  HEAD("v", "64", "1") " -display none -boot order=c" },
	{ "vnc='0', as the guide quotes numbers, over a vfb with a display",
	  "name='v'\nmemory=64\nvnc='0'\nvfb=['type=vnc,vncunused=0,vncdisplay=1']\n", NO_DISPLAY,
	  HEAD("v", "64", "1") " -display none -boot order=c" },
	{ "vnc=False over vfb vnc=1", "name='v'\nmemory=64\nvnc=False\nvfb=['vnc=1']\n", NO_DISPLAY,
	  HEAD("v", "64", "1") " -display none -boot order=c" },
	{ "a stock HVM template with vnc=0",
	  "name='h'\nmemory=64\nbuilder='hvm'\ndevice_model='/usr/lib/xen/bin/qemu-dm'\n"
	  "kernel='/usr/lib/xen/boot/hvmloader'\nvnc=0\nvncunused=1\n", NO_DISPLAY,
	  HEAD("h", "64", "1") " -display none -boot order=c" },
	/* QoS (guide C.2): the guide's own values pass; the backend applies them */
	{ "the guide's disk and vif QoS: IDE disks share one priority, the vifs' MACs match",
	  "name='q'\nmemory=64\ndisk=[ 'file:/q/a.img,hda,w', 'file:/q/b.img,hdb,w' ]\n"
	  "vif=[ 'mac=00:16:3e:31:d5:4b', 'mac=00:16:3e:52:c4:03' ]\n"
	  "disk_other_config = [['hda', 'ionice', 'sched=best-effort,prio=5'], "
	  "['hdb', 'ionice', 'sched=best-effort,prio=5']]\n"
	  "vif_other_config = [['00:16:3e:31:d5:4b', 'tbef', 'rate=8mbit,latency=50ms'], "
	  "['00:16:3e:52:c4:03', 'tbef', 'rate=10mbit']]\n", NET,
	  HEAD("q", "64", "1") " -display none"
	  " -drive file=/q/a.img,format=raw,if=ide,index=0,media=disk"
	  " -drive file=/q/b.img,format=raw,if=ide,index=1,media=disk -boot order=c"
	  " -netdev tap,id=net0,fd=20 -device e1000,netdev=net0,mac=00:16:3e:31:d5:4b"
	  " -netdev tap,id=net1,fd=21 -device e1000,netdev=net1,mac=00:16:3e:52:c4:03" },
	{ "virtio disks with an ionice item get an iothread; -S for the priorities",
	  "name='q'\nmemory=64\ndisk=[ 'file:/q/a.img,xvda,w', 'file:/q/b.img,xvdb,w',"
	  " 'file:/q/c.img,hda,w' ]\n"
	  "disk_other_config = [['xvdb', 'ionice', 'sched=idle'], ['hda', 'ionice', 'prio=0'],"
	  " ['xvda', 'ionice', '']]\n", PAUSED,
	  HEAD("q", "64", "1") " -display none"
	  " -drive file=/q/c.img,format=raw,if=ide,index=0,media=disk"
	  " -drive file=/q/a.img,format=raw,if=none,id=disk-vda"
	  " -device virtio-blk-pci,drive=disk-vda"
	  " -drive file=/q/b.img,format=raw,if=none,id=disk-vdb"
	  " -object iothread,id=io-vdb -device virtio-blk-pci,drive=disk-vdb,iothread=io-vdb"
	  " -boot order=c -S" },
	{ "vif with vifname, model and no MAC; e100 and i82557b",
	  "name='n'\nmemory=64\nvif=[ 'type=ioemu, bridge=xenbr0, model=virtio, vifname=tap-n0',\n"
	  "  'mac=00:16:3E:00:00:01, model=rtl8139, rate=10Mb/s@50ms', 'model=e100',"
	  " 'model=i82557b' ]\n", NET,
	  HEAD("n", "64", "1") " -display none -boot order=c"
	  " -netdev tap,id=net0,fd=20 -device virtio-net-pci,netdev=net0,mac=00:16:3e:3c:fb:d2"
	  " -netdev tap,id=net1,fd=21 -device rtl8139,netdev=net1,mac=00:16:3e:00:00:01"
	  " -netdev tap,id=net2,fd=22 -device i82557b,netdev=net2,mac=00:16:3e:3c:f8:ac"
	  " -netdev tap,id=net3,fd=23 -device i82557b,netdev=net3,mac=00:16:3e:3c:fa:3f" },

	/* Refused, never half translated. */
	{ "unknown disk kind", "name='e'\nmemory=64\n\ndisk=[ 'nbd:host:1234,hda,w' ]\n", 0,
	  "!" GDIR "/vm.cfg:4: disk 'nbd:host:1234,hda,w': disk kind 'nbd' is not supported" },
	{ "hde", "name='e'\nmemory=64\ndisk=[ 'file:/x.img,hde,w' ]\n", 0,
	  "!the IDE controller has hda to hdd only" },
	{ "partition", "name='e'\nmemory=64\ndisk=[ 'file:/x.img,xvda1,w' ]\n", 0,
	  "!xvda1 is a partition" },
	{ "xvda and sda are one disk",
	  "name='e'\nmemory=64\ndisk=[ 'file:/x.img,xvda,w', 'file:/y.img,sda,w' ]\n", 0,
	  "!sda is already given by 'xvda'" },
	{ "two items for hda", "name='e'\nmemory=64\ndisk=[ 'file:/x,hda,w', 'phy:/dev/y,hda,w' ]\n",
	  0, "!hda is already given" },
	{ "cdrom off IDE", "name='e'\nmemory=64\ndisk=[ 'file:/x.iso,xvdc:cdrom,r' ]\n", 0,
	  "!a cdrom must be an IDE device" },
	{ "relative disk path", "name='e'\nmemory=64\ndisk=[ 'file:system.img,hda,w' ]\n", 0,
	  "!the path must be absolute" },
	{ "unknown device", "name='e'\nmemory=64\ndisk=[ 'file:/x.img,fd0,w' ]\n", 0,
	  "!unknown device 'fd0'" },
	{ "malformed disk item", "name='e'\nmemory=64\ndisk=[ 'file:/x.img,hda' ]\n", 0,
	  "!vm.cfg:3: disk 'file:/x.img,hda': expected" },
	{ "disk item not a string", "name='e'\nmemory=64\ndisk=[ 1 ]\n", 0,
	  "!disk item 1 must be a string" },
	{ "disk not a list", "name='e'\nmemory=64\ndisk='file:/x,hda,w'\n", 0,
	  "!disk must be a list" },
	{ "cdrom key disagreeing with hdc",
	  "name='e'\nmemory=64\ndisk=[ 'file:/x,hdc,w' ]\ncdrom='/y.iso'\n", 0,
	  "!vm.cfg:4: cdrom = '/y.iso' but the disk list already has hdc" },
	{ "boot letter twice", "name='e'\nmemory=64\nboot='cc'\n", 0, "!names 'c' twice" },
	{ "boot letter unknown", "name='e'\nmemory=64\nboot='x'\n", 0, "!boot 'x': use the letters" },
	{ "on_reboot preserve", "name='e'\nmemory=64\non_reboot='preserve'\n", 0,
	  "!on_reboot 'preserve'" },
	{ "on_poweroff restart", "name='e'\nmemory=64\non_poweroff='restart'\n", 0,
	  "!on_poweroff 'restart'" },
	{ "builder unknown", "name='e'\nmemory=64\nbuilder='sparc'\n", 0,
	  "!builder 'sparc': use 'hvm' or 'linux'" },
	{ "pci passthrough", "name='e'\nmemory=64\npci=[ '0000:00:1d.0' ]\n", 0,
	  "!pci: device passthrough is not supported" },
	{ "usbdevice unknown", "name='e'\nmemory=64\nusbdevice='disk:/x'\n", 0,
	  "!usbdevice 'disk:/x'" },
	{ "vif model unknown", "name='e'\nmemory=64\nvif=[ 'model=3c905' ]\n", NET,
	  "!model '3c905' is not one of" },
	{ "vifname with a colon", "name='e'\nmemory=64\nvif=[ 'vifname=eth0:1' ]\n", NET,
	  "!vifname must be at most 15 characters" },
	{ "two vifs, one MAC", "name='e'\nmemory=64\nvif=[ 'mac=00:16:3e:00:00:01',\n"
	  " 'mac=00:16:3E:00:00:01' ]\n", NET, "!vm.cfg:3: vif items 1 and 2 have one MAC" },
	{ "two vifs, one name", "name='e'\nmemory=64\nvif=[ 'vifname=a', 'vifname=a' ]\n", NET,
	  "!vif items 1 and 2 have one name (a)" },
	{ "33 vifs", "name='e'\nmemory=64\nvif=[ '','','','','','','','','','','','','','','',"
	  "'','','','','','','','','','','','','','','','','','' ]\n", NET,
	  "!vif: at most 32 interfaces" },
	{ "a vif rate of 0", "name='e'\nmemory=64\nvif=[ 'rate=0Kb/s' ]\n", NET,
	  "!vm.cfg:3: vif item 1: vif 'rate=0Kb/s': rate must be" },
	{ "tbef for a MAC no vif has",
	  "name='e'\nmemory=64\nvif=[ 'mac=00:16:3e:00:00:01' ]\n\n"
	  "vif_other_config = [['00:16:3e:00:00:02', 'tbef', 'rate=8mbit']]\n", NET,
	  "!vm.cfg:5: vif_other_config item 1: no vif has the MAC 00:16:3e:00:00:02" },
	{ "tbef twice for one MAC",
	  "name='e'\nmemory=64\nvif=[ 'mac=00:16:3e:00:00:01' ]\n"
	  "vif_other_config = [['00:16:3e:00:00:01', 'tbef', 'rate=8mbit'], "
	  "['00:16:3E:00:00:01', 'tbf', 'rate=1mbit']]\n", NET,
	  "!vif_other_config item 2: 00:16:3e:00:00:01 is given twice" },
	{ "ionice for a disk the guest lacks",
	  "name='e'\nmemory=64\ndisk=[ 'file:/x.img,hda,w' ]\n"
	  "disk_other_config = [['xvdb', 'ionice', 'prio=7']]\n", 0,
	  "!vm.cfg:4: disk_other_config item 1: the guest has no disk xvdb" },
	{ "ionice twice for one disk (xvdb and sdb)",
	  "name='e'\nmemory=64\ndisk=[ 'file:/x.img,xvdb,w' ]\n"
	  "disk_other_config = [['xvdb', 'ionice', 'prio=7'], ['sdb', 'ionice', 'prio=1']]\n", 0,
	  "!disk_other_config item 2: sdb is given twice" },
	{ "two IDE disks asking different priorities",
	  "name='e'\nmemory=64\ndisk=[ 'file:/x.img,hda,w', 'file:/y.img,hdb,w' ]\n"
	  "disk_other_config = [['hda', 'ionice', 'prio=7'], ['hdb', 'ionice', 'prio=0']]\n", 0,
	  "!disk_other_config item 2: hdb asks best-effort/0 but hda asks best-effort/7: IDE "
	  "disks share QEMU's main I/O thread, so they take one priority (use xvdX disks for "
	  "one each)" },
	{ "vnclisten that would smuggle options",
	  "name='e'\nmemory=64\nvnc=1\nvnclisten='0.0.0.0,password=off'\n", 0,
	  "!vnclisten '0.0.0.0,password=off' is not an address" },
	{ "ionice prio outside 0-7",
	  "name='e'\nmemory=64\ndisk=[ 'file:/x.img,hda,w' ]\n"
	  "disk_other_config = [['hda', 'ionice', 'sched=best-effort,prio=8']]\n", 0,
	  "!" GDIR "/vm.cfg:4: disk_other_config item 1: hda: ionice prio '8' is outside 0-7" },
	{ "unknown vif QoS algorithm",
	  "name='e'\nmemory=64\n\nvif_other_config = [\n ['00:16:3e:31:d5:4b', 'red', 'rate=8mbit']]\n",
	  0, "!" GDIR "/vm.cfg:4: vif_other_config item 1: 00:16:3e:31:d5:4b: unknown QoS "
	  "algorithm 'red' (a vif's is 'tbef', or tc's name 'tbf')" },
	{ "vnc not a number", "name='e'\nmemory=64\nvnc='yes'\n", 0, "!vnc must be a number" },
	{ "vnc without an allocated display", "name='e'\nmemory=64\nvnc=1\n", NO_DISPLAY,
	  "!qemu: the guest wants VNC but vnc_display is -1" },
	{ "relative kernel", "name='e'\nmemory=64\nkernel='vmlinuz'\n", 0,
	  "!kernel: the path must be absolute" },
	{ "hvm ignores kernel (hvmloader), not a malformed vnc",
	  "name='e'\nmemory=64\nbuilder='hvm'\nkernel=\"/usr/lib/xen/boot/hvmloader\"\nvnc=[1]\n",
	  0, "!vnc must be a number" },
};

static void default_opts(struct qemu_argv_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->binary = BIN;
	o->kvm = true;
	o->qmp_socket = RUNDIR "/" UUID ".qmp";
	o->pid_file = RUNDIR "/" UUID ".pid";
	o->run_dir = RUNDIR;
	o->vnc_display = 3;
}

static void guest_from(const struct vmcfg *cfg, struct hv_guest *g)
{
	long long n;

	memset(g, 0, sizeof(*g));
	g->path = GDIR;
	g->name = vmcfg_get_str(cfg, "name");
	g->uuid = UUID;
	g->memory = vmcfg_get_int(cfg, "memory", &n) == 0 ? (int)n : 256;
	g->vcpus = vmcfg_get_int(cfg, "vcpus", &n) == 0 ? (int)n : 1;
	g->cfg = cfg;
}

/* Build for text; returns the joined argv (malloc'd) or "!" and the error. */
static char *build_text(const char *text, const struct qemu_argv_opts *o)
{
	struct vmcfg *cfg = NULL;
	struct hv_guest g;
	char err[1024], **argv = (char **)1, *out;

	if (vmcfg_parse("vm.cfg", text, strlen(text), &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "  vm.cfg does not parse: %s\n", err);
		return strdup("(parse error)");
	}
	guest_from(cfg, &g);
	if (o->with_network && !o->tap_fds) {
		/* the taps the backend would have opened: fds 20, 21, ... */
		static const int fds[40] = { 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
					     33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45,
					     46, 47, 48, 49, 50, 51, 52 };
		struct qemu_argv_opts *w = (struct qemu_argv_opts *)o;
		w->tap_fds = fds;
		w->n_tap_fds = vmcfg_list_len(cfg, "vif");
	}
	if (qemu_argv_build(cfg, &g, o, &argv, err, sizeof(err)) < 0) {
		vmcfg_free(cfg);
		if (argv)
			return strdup("(argv not NULL after an error)");
		out = malloc(strlen(err) + 2);
		out[0] = '!';
		strcpy(out + 1, err);
		return out;
	}
	out = qemu_argv_join(argv);
	qemu_argv_free(argv);
	vmcfg_free(cfg);
	return out;
}

TEST(table)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct tcase *t = &cases[i];
		struct qemu_argv_opts o;
		const char *want = t->want;
		char *got;
		bool ok;

		default_opts(&o);
		o.with_network = t->flags & NET;
		o.kvm = !(t->flags & TCG);
		o.incoming = t->flags & DEFER ? "defer" : NULL;
		o.start_paused = t->flags & PAUSED;
		if (t->flags & NO_DISPLAY)
			o.vnc_display = -1;
		got = build_text(t->cfg, &o);
		if (want[0] == '!')
			ok = got[0] == '!' && strstr(got, want + 1);
		else
			ok = strcmp(got, want) == 0;
		if (!ok) {
			fprintf(stderr, "  case '%s':\n    got:  %s\n    want: %s\n", t->label, got,
				want);
			harness_failed_now = 1;
		}
		free(got);
	}
}

/* The joined form hides argument boundaries: check the ones that matter. */
TEST(argument_boundaries)
{
	const char *text = "name='k'\nmemory=128\nkernel='/boot/vmlinuz'\n"
			   "root='/dev/vda1 ro'\nextra='console=ttyS0 quiet'\n";
	struct vmcfg *cfg = NULL;
	struct qemu_argv_opts o;
	struct hv_guest g;
	char err[512], **argv = NULL;
	size_t n = 0;

	CHECK(vmcfg_parse("vm.cfg", text, strlen(text), &cfg, err, sizeof(err)) == 0);
	guest_from(cfg, &g);
	default_opts(&o);
	CHECK(qemu_argv_build(cfg, &g, &o, &argv, err, sizeof(err)) == 0);
	while (argv && argv[n])
		n++;
	CHECK(n >= 2);
	if (n >= 2) {
		CHECK_STR(argv[n - 2], "-append");
		CHECK_STR(argv[n - 1], "root=/dev/vda1 ro console=ttyS0 quiet");
	}
	CHECK_STR(argv[0], BIN);
	qemu_argv_free(argv);
	vmcfg_free(cfg);
}

/* Values from the backend, not vm.cfg: escaped or refused the same way. */
TEST(opts_and_guest)
{
	const char *text = "name='g'\nmemory=64\n";
	struct vmcfg *cfg = NULL;
	struct qemu_argv_opts o;
	struct hv_guest g;
	char err[512], **argv = NULL, *joined;

	CHECK(vmcfg_parse("vm.cfg", text, strlen(text), &cfg, err, sizeof(err)) == 0);
	guest_from(cfg, &g);

	default_opts(&o);
	o.run_dir = "/run/a,b";
	o.qmp_socket = "/run/a,b/q";
	CHECK(qemu_argv_build(cfg, &g, &o, &argv, err, sizeof(err)) == 0);
	joined = qemu_argv_join(argv);
	CHECK(strstr(joined, " -qmp unix:/run/a,,b/q,server=on,wait=off ") != NULL);
	CHECK(strstr(joined, "path=/run/a,,b/" UUID ".console,server=on") != NULL);
	free(joined);
	qemu_argv_free(argv);

	default_opts(&o);
	o.run_dir = "/run/a-very-long-directory-name-that-leaves-no-room-for-the-uuid"
		    "-and-the-console-suffix";
	CHECK(qemu_argv_build(cfg, &g, &o, &argv, err, sizeof(err)) < 0);
	CHECK(argv == NULL);
	CHECK(strstr(err, "run_dir") != NULL);

	default_opts(&o);
	o.incoming = "tcp:0.0.0.0:8002,x=y";
	CHECK(qemu_argv_build(cfg, &g, &o, &argv, err, sizeof(err)) < 0);
	CHECK(strstr(err, "incoming") != NULL);
	o.incoming = "tcp:[::]:8002";
	CHECK(qemu_argv_build(cfg, &g, &o, &argv, err, sizeof(err)) == 0);
	qemu_argv_free(argv);

	default_opts(&o);
	g.name = "two\nlines";
	CHECK(qemu_argv_build(cfg, &g, &o, &argv, err, sizeof(err)) < 0);
	CHECK_STR(err, GDIR "/vm.cfg:1: name must be non-empty and printable");
	g.name = "g";
	g.uuid = "not-a-uuid";
	CHECK(qemu_argv_build(cfg, &g, &o, &argv, err, sizeof(err)) < 0);
	CHECK(strstr(err, "uuid must look like") != NULL);
	g.uuid = UUID;
	g.vcpus = 0;
	CHECK(qemu_argv_build(cfg, &g, &o, &argv, err, sizeof(err)) < 0);
	CHECK(strstr(err, "vcpus 0 is out of range") != NULL);
	g.vcpus = 1;
	o.vnc_listen = "192.0.2.7";
	g.path = NULL;
	CHECK(qemu_argv_build(cfg, &g, &o, &argv, err, sizeof(err)) == 0);
	qemu_argv_free(argv);
	vmcfg_free(cfg);
}

TEST(agent_vnc_listen_default)
{
	const char *text = "name='g'\nmemory=64\nvnc=1\n";
	struct vmcfg *cfg = NULL;
	struct qemu_argv_opts o;
	struct hv_guest g;
	char err[512], **argv = NULL, *joined;

	CHECK(vmcfg_parse("vm.cfg", text, strlen(text), &cfg, err, sizeof(err)) == 0);
	guest_from(cfg, &g);
	default_opts(&o);
	o.vnc_listen = "192.0.2.7";
	o.vnc_display = 12;
	CHECK(qemu_argv_build(cfg, &g, &o, &argv, err, sizeof(err)) == 0);
	joined = qemu_argv_join(argv);
	CHECK(strstr(joined, " -vnc 192.0.2.7:12 ") != NULL);
	free(joined);
	qemu_argv_free(argv);
	vmcfg_free(cfg);
}

static int fixed_display(const char *text, bool *wants)
{
	struct vmcfg *cfg = NULL;
	char err[256];
	int d;

	if (vmcfg_parse("vm.cfg", text, strlen(text), &cfg, err, sizeof(err)) < 0)
		return -100;
	*wants = qemu_wants_vnc(cfg);
	d = qemu_vnc_fixed_display(cfg);
	vmcfg_free(cfg);
	return d;
}

TEST(vnc_helpers)
{
	bool w = true;

	CHECK_INT(fixed_display("name='a'\n", &w), -1);
	CHECK(!w);
	CHECK_INT(fixed_display("vnc=1\nvncunused=1\n", &w), -1);
	CHECK(w);
	CHECK_INT(fixed_display("vnc=1\n", &w), -1);
	CHECK(w);
	CHECK_INT(fixed_display("vnc=1\nvncunused=0\nvncdisplay=5\n", &w), 5);
	CHECK_INT(fixed_display("vfb=['type=vnc,vncunused=0,vncdisplay=7']\n", &w), 7);
	CHECK(w);
	CHECK_INT(fixed_display("vfb=['type=sdl']\n", &w), -1);
	CHECK(!w);
	CHECK_INT(fixed_display("vnc=0\nvfb=['vnc=1']\n", &w), -1);
	CHECK(!w);
	CHECK_INT(fixed_display("vnc='x'\n", &w), -1);
	CHECK(!w);
	CHECK_INT(fixed_display("vnc=True\nvncunused=False\nvncdisplay=70000\n", &w), -1);
	CHECK(w);
	/* vnc=0 wins over everything that would give a display */
	w = true;
	CHECK_INT(fixed_display("vnc=0\nvncunused=0\nvncdisplay=4\n", &w), -1);
	CHECK(!w);
	w = true;
	CHECK_INT(fixed_display("vnc='0'\nvfb=['type=vnc,vncunused=0,vncdisplay=4']\n", &w), -1);
	CHECK(!w);
	w = true;
	CHECK_INT(fixed_display("vnc=False\nvfb=['type=vnc']\n", &w), -1);
	CHECK(!w);
}

/* What the backend prepares on the host: taps, bridges, QoS, priorities. */
TEST(plans)
{
	const char *text =
		"name='p'\nmemory=64\n"
		"vif=[ 'mac=00:16:3e:00:00:01, bridge=xenbr1, rate=10Mb/s@20ms',\n"
		"      'vifname=tap-p, rate=250KB/s', 'model=e100' ]\n"
		"vif_other_config = [['00:16:3E:00:00:01', 'tbef', 'rate=8mbit,latency=40ms']]\n"
		"disk=[ 'file:/p/a.img,xvda,w', 'file:/p/b.img,sdb,w', 'file:/p/c.img,hda,w' ]\n"
		"disk_other_config = [['xvda', 'ionice', 'sched=best-effort,prio=0'],\n"
		"  ['sdb', 'ionice', 'sched=idle'], ['hda', 'ionice', 'sched=realtime']]\n";
	struct vmcfg *cfg = NULL;
	struct qemu_nic *nics = NULL;
	struct qemu_ioprio prio[QEMU_IOPRIO_MAX];
	struct hv_guest g;
	char err[512];
	size_t n = 99;

	CHECK(vmcfg_parse("vm.cfg", text, strlen(text), &cfg, err, sizeof(err)) == 0);
	if (!cfg)
		return;
	guest_from(cfg, &g);
	CHECK(qemu_nics(cfg, &g, &nics, &n, err, sizeof(err)) == 0);
	CHECK_INT(n, 3);
	if (nics && n == 3) {
		CHECK_STR(nics[0].ifname, "vif6f1a6d2e.0");
		CHECK_STR(nics[0].bridge, "xenbr1");
		CHECK_STR(nics[0].model, "e1000");
		CHECK_INT(nics[0].qos.out_rate, 1250000);
		CHECK_INT(nics[0].qos.out_window_us, 20000);
		CHECK_INT(nics[0].qos.in_rate, 1000000);
		CHECK_INT(nics[0].qos.in_latency_us, 40000);
		CHECK_STR(nics[1].ifname, "tap-p");
		CHECK_STR(nics[1].bridge, "");
		CHECK_INT(nics[1].qos.out_rate, 250000);
		CHECK_INT(nics[1].qos.out_window_us, 50000);
		CHECK_INT(nics[1].qos.in_rate, 0);
		CHECK_STR(nics[2].ifname, "vif6f1a6d2e.2");
		CHECK_STR(nics[2].model, "i82557b");
		CHECK_INT(nics[2].qos.out_rate, 0);
	}
	free(nics);
	CHECK(qemu_ioprios(cfg, &g, prio, &n, err, sizeof(err)) == 0);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_STR(prio[0].dev, "xvda");
		CHECK_STR(prio[0].iothread, "io-vda");
		CHECK_INT(prio[0].ioclass, 2);
		CHECK_INT(prio[0].prio, 0);
		CHECK_STR(prio[1].iothread, "io-vdb");
		CHECK_INT(prio[1].ioclass, 3);
		CHECK_INT(prio[1].prio, 0);
		CHECK_STR(prio[2].dev, "hda");
		CHECK_STR(prio[2].iothread, "");     /* QEMU's main thread */
		CHECK_INT(prio[2].ioclass, 1);
		CHECK_INT(prio[2].prio, 4);          /* ionice's default */
	}
	vmcfg_free(cfg);
}

TEST(join)
{
	char *a[] = { "x", "y z", NULL }, *none[] = { NULL };
	char *s = qemu_argv_join(a);

	CHECK_STR(s, "x y z");
	free(s);
	s = qemu_argv_join(none);
	CHECK_STR(s, "");
	free(s);
	qemu_argv_free(NULL);
}

int main(void)
{
	RUN(table);
	RUN(argument_boundaries);
	RUN(opts_and_guest);
	RUN(agent_vnc_listen_default);
	RUN(vnc_helpers);
	RUN(plans);
	RUN(join);
	return harness_done();
}
