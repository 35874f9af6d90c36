/* qemu_argv.h - translate a guest's vm.cfg into a QEMU command line.
 *
 * A pure function: no I/O, no randomness, no environment; the same vm.cfg
 * and options always give the same argv, so it can be tested exactly and
 * a restarted guest gets the same hardware. The result is an argv for
 * execve(): the agent never runs a shell, so nothing is shell-quoted.
 * Values that QEMU parses as KEY=VALUE,... option lists have their commas
 * doubled (QEMU's own escape); values QEMU cannot take at all (control
 * characters, a newline) are refused.
 *
 * Translation rules, in argv order:
 *
 *   -name guest=NAME,debug-threads=on   (hv_guest.name)
 *   -uuid UUID                          (hv_guest.uuid, canonical 8-4-4-4-12)
 *   -machine pc,accel=kvm|tcg[,acpi=off]  acpi=0 turns ACPI off
 *   -m MEMORYM -smp VCPUS               (hv_guest.memory, hv_guest.vcpus).
 *       maxmem is ignored for now: no balloon or memory hotplug yet, the
 *       guest gets `memory` and keeps it.
 *   -nodefaults -no-user-config         only the hardware listed here, so
 *       the guest sees the same machine whatever the host's QEMU defaults.
 *   -daemonize -pidfile PID_FILE        QEMU detaches, so guests outlive
 *       the agent (as Xen domains outlive xend).
 *   -qmp unix:QMP_SOCKET,server=on,wait=off
 *   -chardev socket,id=serial0,path=RUN_DIR/UUID.console,server=on,wait=off
 *   -serial chardev:serial0             a serial console kept on a unix
 *       socket for debugging; it stands for Xen's serial='pty', so the
 *       `serial` key itself is ignored.
 *   -vga std                            always, so the guest's hardware
 *       does not change with VNC on or off.
 *   -display none | -vnc HOST:N[,password=on]
 *       VNC is on when `vnc` is 1, or, without a `vnc` key, when a `vfb`
 *       item says type=vnc or vnc=1 (the guide's PV form). vnclisten,
 *       vncpasswd, vncunused and vncdisplay come from the top-level keys,
 *       else from that vfb item. HOST is vnclisten, else
 *       qemu_argv_opts.vnc_listen (agent.ini), else 127.0.0.1; an IPv6
 *       address is bracketed. N is qemu_argv_opts.vnc_display (port
 *       5900+N), which the caller allocates: from 5900 upward for
 *       vncunused=1 (Xen's default), qemu_vnc_fixed_display() for
 *       vncunused=0. A non-empty vncpasswd adds password=on; the password
 *       itself is set later over QMP (set_password), never on the command
 *       line, where `ps` would show it.
 *   -no-reboot                          on_reboot='destroy'; 'restart' is
 *       the default. -no-shutdown is never used: a guest power-off makes
 *       QEMU exit (on_poweroff='destroy', the only value accepted).
 *       on_crash is ignored for now (QEMU has no crash action of its own;
 *       the backend may act on a GUEST_PANICKED event later).
 *   -rtc base=localtime                 localtime=1 (Windows guests).
 *   -usb [-device usb-mouse|usb-tablet] usb=1, usbdevice='mouse'|'tablet'.
 *   -drive ...                          one per `disk` item, see below.
 *   -boot order=ORDER                   `boot` (letters a c d n, each at
 *       most once), default 'c'.
 *   -kernel K [-initrd R] [-append "root=ROOT EXTRA"]
 *       PV direct boot: a guest without builder='hvm' and without a
 *       `bootloader` that names a `kernel`. QEMU runs PV and HVM guests
 *       alike as full virtualization. With builder='hvm', `kernel` is
 *       Xen's hvmloader (the guide's example) and is ignored; with a
 *       bootloader (pygrub), kernel/ramdisk name files inside the image
 *       and the firmware boots the disk's own boot loader instead, which
 *       is what pygrub emulates (its extra/root are then the guest's
 *       grub.conf business).
 *   -netdev tap,... -device ...          `vif` items, when
 *       qemu_argv_opts.with_network, one per item (qemu_nics()):
 *         -netdev tap,id=netN,fd=FD       FD: qemu_argv_opts.tap_fds[N], the
 *             tap the agent created and bridged (tap.h); QEMU gets no name,
 *             no script and no helper
 *         -device MODEL,netdev=netN,mac=MAC
 *       MODEL from model=: e1000, e100 and i82557b (QEMU's i82557b), rtl8139,
 *       virtio (virtio-net-pci), ne2k_pci, pcnet; else ne2k_pci with
 *       ne2000=1, else e1000. MAC is mac=, else 00:16:3e (Xen's prefix) and
 *       three bytes hashed from the uuid and N (the guest layer writes a
 *       MAC into vm.cfg before a start, so this is for callers that did
 *       not). bridge=, rate= and vif_other_config are the backend's work on
 *       the host, not QEMU's.
 *   -S                                  qemu_argv_opts.start_paused: the
 *       backend sets I/O priorities before the guest runs, then `cont`s.
 *   -S -incoming INCOMING               "defer" or "tcp:HOST:PORT"; paused until cont.
 *
 * Disks. Each `disk` item is read with vmcfg_parse_disk():
 *   file:P, tap:aio:P, tap:sync:P  format=raw
 *   phy:DEV                        format=raw,cache=none (a relative DEV
 *                                  is under /dev/, as in xm)
 *   tap:qcow:P                     format=qcow (blktap's and xl's qcow is
 *                                  QCOW version 1; qcow2 is tap:qcow2:P)
 *   tap:qcow2:P                    format=qcow2
 *   tap:vhd:P                      format=vpc
 *   tap:vmdk:P                     format=vmdk
 * Device hda..hdd -> if=ide,index=0..3 (an optional "ioemu:" prefix is
 * dropped); xvdX and sdX -> if=none,id=disk-vdX and -device
 * virtio-blk-pci,drive=disk-vdX, emitted in letter order whatever the item
 * order (xvda and sda name the same disk). A virtio disk with an ionice
 * item in disk_other_config gets an I/O thread of its own, -object
 * iothread,id=io-vdX and iothread=io-vdX on its device, whose priority the
 * backend sets (qemu_ioprios()); IDE disks run in QEMU's main thread, so
 * all IDE disks with an ionice item must ask the same priority. Mode r -> readonly=on;
 * w! (shared writable, e.g. OCFS2) -> file.locking=off, since QEMU would
 * otherwise refuse a second writer. DEV:cdrom -> media=cdrom,readonly=on
 * on IDE; an empty cdrom (',hdc:cdrom,r') has no file=. The `cdrom` key
 * (an ISO path, guide E.11) adds 'file:PATH,hdc:cdrom,r' unless the disk
 * list already has that drive. Paths must be absolute: QEMU's working
 * directory is not the guest's. A disk item cannot hold a comma (the item
 * syntax splits on commas); other values can, and are escaped.
 *
 * Refused, with "PATH/vm.cfg:LINE: ..." (never silently dropped): an
 * unknown disk kind or device, partitions (xvda1: QEMU gives whole
 * disks), two items for one drive, a cdrom off IDE, hde and beyond,
 * builder other than 'hvm'/'linux', on_reboot or on_poweroff values QEMU
 * cannot honour, an unknown usbdevice or vif model, the passthrough
 * keys pci, vtpm, iomem, ioports, irq and vscsi when non-empty, and
 * disk_other_config / vif_other_config items vmcfg_qos.h refuses (an
 * ionice prio outside 0-7, an unknown QoS algorithm, ...), an item for a
 * disk or MAC the guest does not have or given twice, two IDE disks asking
 * different priorities, two vif items with one MAC or tap name.
 * Ignored as Xen-only or cosmetic: device_model, vncviewer, vncconsole,
 * sdl, apic, pae, keymap, timer_mode, serial (see above). Keys nobody knows
 * are ignored, as xm ignores unknown Python variables. */
#ifndef OVS_QEMU_ARGV_H
#define OVS_QEMU_ARGV_H

#include <stdbool.h>
#include <stddef.h>

#include "hypervisor/tap.h"
#include "hypervisor/tap_qos.h"

struct vmcfg;
struct hv_guest;

struct qemu_argv_opts {
	const char *binary;      /* /usr/bin/qemu-system-x86_64 */
	bool kvm;                /* accel=kvm, else accel=tcg */
	const char *qmp_socket;  /* unix socket path */
	const char *pid_file;
	const char *incoming;    /* NULL, "defer" or "tcp:IP:PORT" */
	int vnc_display;         /* -1 none, else N for port 5900+N */
	const char *run_dir;     /* holds UUID.console */
	bool with_network;       /* translate vif items (default: no NICs) */
	const char *vnc_listen;  /* host default (agent.ini); NULL: 127.0.0.1 */
	const int *tap_fds;      /* with_network: one open tap per vif item */
	size_t n_tap_fds;
	bool start_paused;       /* -S (implied by incoming) */
};

/* Longest argv we build; a vm.cfg needing more is refused. */
#define QEMU_ARGV_MAX 256

/* Build *argv (NULL-terminated, malloc'd: free with qemu_argv_free).
 * g gives name, uuid, memory, vcpus and path (the guest directory, used
 * in messages only); cfg is the parsed vm.cfg. 0, or -1 with a message
 * in err and *argv NULL. */
int qemu_argv_build(const struct vmcfg *cfg, const struct hv_guest *g,
		    const struct qemu_argv_opts *o, char ***argv, char *err, size_t errlen);
void qemu_argv_free(char **argv);

/* Whether the guest asks for VNC, so the caller knows to allocate a
 * display. A malformed vnc key counts as no; qemu_argv_build reports it. */
bool qemu_wants_vnc(const struct vmcfg *cfg);
/* The display asked for with vncunused=0 and vncdisplay=N, else -1 (the
 * caller picks a free one from 5900 upward). */
int qemu_vnc_fixed_display(const struct vmcfg *cfg);

/* One guest NIC: what the backend prepares on the host before QEMU
 * starts, and what QEMU gets. */
struct qemu_nic {
	char ifname[TAP_NAME_SIZE];  /* the tap (tap_name) */
	char mac[18];
	char model[24];              /* QEMU's device */
	char bridge[64];             /* bridge=, "" for the host's default */
	struct tap_qos qos;          /* rate= and the vif_other_config item */
};

/* The NICs of cfg's vif items, in order (*nics malloc'd, NULL when none;
 * TAP_MAX_NICS at most). 0, or -1 with "DIR/vm.cfg:LINE: ..." in err. */
int qemu_nics(const struct vmcfg *cfg, const struct hv_guest *g, struct qemu_nic **nics,
	      size_t *n, char *err, size_t errlen);

/* A disk's I/O priority and the QEMU thread that does its I/O. */
struct qemu_ioprio {
	char dev[32];        /* as disk_other_config names it: hda, xvdb */
	char iothread[16];   /* the iothread's id ("io-vdb"), "" for the main thread */
	int ioclass, prio;   /* enum vmcfg_ioclass and 0-7, as ioprio_set takes them */
};
#define QEMU_IOPRIO_MAX 30   /* one per drive slot */

/* The priorities to set, at most one for the main thread: 0 and *n
 * entries in out, or -1 with err. */
int qemu_ioprios(const struct vmcfg *cfg, const struct hv_guest *g,
		 struct qemu_ioprio out[QEMU_IOPRIO_MAX], size_t *n, char *err, size_t errlen);

/* argv joined with single spaces (malloc'd), for logs and tests: not
 * quoted, so not for a shell. */
char *qemu_argv_join(char *const *argv);

#endif
