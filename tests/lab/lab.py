"""Emulated SR-IOV hypervisor lab for the virt.sriov collection.

Builds, boots and manages a Debian 12 guest under QEMU 10 (TCG only) with N
emulated Intel 82576 (``igb``) ports, each able to create 7 SR-IOV VFs, behind
an emulated VT-d (or AMD-Vi) IOMMU. The guest boots through its own GRUB, runs
libvirt (9.0, or 11.3 with ``--libvirt 11``) and has two nested domains defined: ``guestVM``
without an OS and ``guestOS``, which boots the lab's kernel with a small busybox initramfs.

Usage (python3 stdlib only):

    python3 tests/lab/lab.py deps          # apt-get install host requirements
    python3 tests/lab/lab.py build         # build (or reuse) the cached image
    python3 tests/lab/lab.py start         # start (or reuse) instance 'lab' and wait for SSH
    python3 tests/lab/lab.py ssh -- lspci  # run a command in the guest
    python3 tests/lab/lab.py inventory     # Ansible inventory (INI) on stdout
    python3 tests/lab/lab.py reboot | stop | status | wait

See tests/lab/README.md for the design, timings and failure modes.
"""

import argparse
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, "files")

# Bump when the build procedure changes in a way not captured by the texts below.
RECIPE_VERSION = "4"
SUITE = "bookworm"
VARIANT = "required"
PACKAGES = [
    "linux-image-amd64", "initramfs-tools", "systemd-sysv", "udev", "kmod", "dbus",
    "iproute2", "pciutils", "ethtool", "procps", "less", "iputils-ping", "netbase",
    "openssh-server", "python3", "python3-apt",
    "libvirt-daemon-system", "libvirt-daemon-driver-qemu", "libvirt-clients",
    "qemu-system-x86", "seabios", "ipxe-qemu",
    "python3-libvirt", "python3-lxml", "grub-pc", "e2fsprogs",
    "busybox-static",  # the nested guestOS's initramfs (build-guest-initrd.sh)
]
# libvirt variants of the image (`--libvirt`). "9": Debian 12's libvirt 9.0 and QEMU 7.2.
# "11": libvirt 11.3 and QEMU 10.0 from bookworm-backports, installed over the bookworm image
# with `apt-get install -t bookworm-backports` (python3-libvirt stays 9.0: it talks to 11
# unchanged). Debian builds no modular daemons (virtqemud, ...): both run libvirtd.
LIBVIRT_DEFAULT = "9"
LIBVIRT_BACKPORTS = {
    "9": [],
    "11": ["libvirt-daemon-system", "libvirt-clients", "qemu-system-x86"],
}
BACKPORTS_HOOK = r"""
set -e
R="$1"
SUITE="$2"
shift 2
chroot "$R" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  -o APT::Install-Recommends=false -t "$SUITE" "$@"
"""
# Files of the nested guestOS (tests/lab/files), installed into the base disk (part of its hash,
# so a change costs a base rebuild, not a rootfs one).
GUEST_OS_FILES = ["guestOS.xml", "guest-init.sh", "build-guest-initrd.sh", "extract-vmlinux.py"]
MGMT_MAC = "52:54:00:12:34:56"
DISK_SIZE = "8G"
PART_START = 2048  # sectors of 512 bytes
IOMMU_ARGS = "intel_iommu=on iommu=pt"
BASE_CMDLINE = "console=ttyS0,115200n8 net.ifnames=1"

# Host-side requirements: command -> Debian package.
HOST_TOOLS = {
    "mmdebstrap": "mmdebstrap",
    "sfdisk": "fdisk",
    "mkfs.ext4": "e2fsprogs",
    "losetup": "mount",
    "grub-install": "grub2-common",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}
# Not needed to build or boot the lab: the e2e test of the report page opens it in a browser.
E2E_TOOLS = {"chromium": "chromium"}
GRUB_I386 = "/usr/lib/grub/i386-pc"
QEMU = "qemu-system-x86_64"
QEMU_MIN_MAJOR = 10

# Files written into the guest's root file system (part of the recipe hash).
NETWORKD_MGMT = f"""[Match]
MACAddress={MGMT_MAC}

[Network]
DHCP=ipv4
IPv6AcceptRA=no
LinkLocalAddressing=no
"""
LIBVIRT_GUESTS = """# virt-sriov lab: keep reboots fast (nested guests have no OS to answer ACPI)
ON_BOOT=ignore
ON_SHUTDOWN=shutdown
SHUTDOWN_TIMEOUT=5
PARALLEL_SHUTDOWN=4
"""
LIBVIRTD_DEFAULT = """# virt-sriov lab: keep libvirtd running (no idle --timeout)
LIBVIRTD_ARGS=""
"""
DEFAULT_GRUB = """# virt-sriov lab. update-grub regenerates /boot/grub/grub.cfg from this file and
# /etc/default/grub.d/*.cfg (drop-ins are read after this file and may append).
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="@CMDLINE@"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
"""
# Kernel command line of the first boot (before any update-grub in the guest):
# the same "linux ... root=UUID=... ro GRUB_CMDLINE_LINUX" that grub-mkconfig writes.
GRUB_CFG = """# Written by the virt-sriov lab build; `update-grub` in the guest replaces it.
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
set default=0
set timeout=0
insmod part_msdos
insmod ext2
search --no-floppy --fs-uuid --set=root @UUID@
menuentry 'Debian GNU/Linux' {
    linux /boot/@VMLINUZ@ root=UUID=@UUID@ ro @CMDLINE@
    initrd /boot/@INITRD@
}
"""
# Written into the base disk (part of the base hash): survive a starved host (many TCG VMs on
# 2 cores): no service watchdog kills (systemd-networkd was killed at 3 min once), long start
# timeouts, and no e2scrub_reap at boot.
BASE_FILES = {
    "etc/systemd/system.conf.d/50-virt-sriov-lab.conf":
        "[Manager]\nServiceWatchdogs=no\nDefaultTimeoutStartSec=900s\n",
}
BASE_MASKED = ["e2scrub_reap.service"]

CUSTOMIZE = r"""
set -e
R="$1"
echo sriov-lab > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsriov-lab\n' > "$R/etc/hosts"
printf 'nameserver 10.0.2.3\n' > "$R/etc/resolv.conf"
chroot "$R" passwd -l root >/dev/null
systemctl --root="$R" enable systemd-networkd.service ssh.service >/dev/null 2>&1
systemctl --root="$R" disable systemd-networkd-wait-online.service >/dev/null 2>&1 || true
for t in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
         man-db.timer dpkg-db-backup.timer logrotate.timer; do
  systemctl --root="$R" mask "$t" >/dev/null 2>&1 || true
done
# libvirt's NAT 'default' network needs dnsmasq and is not wanted in the lab.
rm -f "$R/etc/libvirt/qemu/networks/autostart/default.xml"
echo 'grub-pc grub-pc/install_devices multiselect /dev/vda' | chroot "$R" debconf-set-selections
mkdir -p "$R/etc/default/grub.d" "$R/root/.ssh"
chmod 700 "$R/root/.ssh"
rm -f "$R/etc/machine-id" && : > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"
"""


def log(msg):
    print(f"[lab] {msg}", file=sys.stderr, flush=True)


class LabError(Exception):
    pass


def run(cmd, check=True, **kw):
    """Run a command (list), raise LabError with its stderr on failure."""
    kw.setdefault("text", True)
    try:
        p = subprocess.run(cmd, check=False, **kw)
    except FileNotFoundError:
        raise LabError(f"command not found: {cmd[0]} (run `python3 {sys.argv[0]} deps`)")
    if check and p.returncode != 0:
        err = p.stderr if isinstance(p.stderr, str) else ""
        raise LabError(f"command failed ({p.returncode}): {shlex.join(cmd)}\n{err or ''}".rstrip())
    return p


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    d = os.path.join(base, "virt-sriov-lab")
    os.makedirs(d, exist_ok=True)
    return d


def sha(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:16]


def lab_file(name):
    with open(os.path.join(FILES, name)) as f:
        return f.read()


def guest_xml():
    return lab_file("guestVM.xml")


def rootfs_key(libvirt=LIBVIRT_DEFAULT):
    parts = [RECIPE_VERSION, SUITE, VARIANT, " ".join(PACKAGES), CUSTOMIZE, NETWORKD_MGMT,
             LIBVIRT_GUESTS, LIBVIRTD_DEFAULT, DEFAULT_GRUB, guest_xml()]
    if LIBVIRT_BACKPORTS[libvirt]:
        parts += [f"libvirt={libvirt}", BACKPORTS_HOOK, " ".join(LIBVIRT_BACKPORTS[libvirt])]
    return sha(*parts)


def kernel_cmdline(iommu_cmdline, iommu="intel"):
    """Kernel command line baked into the base disk's /etc/default/grub.

    AMD-Vi: QEMU's amd-iommu cannot remap interrupts for this guest under TCG (intremap=on
    panics it: "timer doesn't work through Interrupt-remapped IO-APIC"; intremap=off loses
    IRQs, every console write then stalls 30 s), so the guest is told `intremap=off`.
    """
    args = BASE_CMDLINE + (" " + IOMMU_ARGS if iommu_cmdline else "")
    if iommu == "amd":
        args += " intremap=off"
    return args


# SSH connect + banner timeout (seconds) and Ansible's retries of a connection that failed.
SSH_TIMEOUT = 30
SSH_RETRIES = 3


def ssh_key():
    """Path of the lab's private SSH key (generated once, kept in the cache dir)."""
    key = os.path.join(cache_dir(), "id_ed25519")
    if not os.path.exists(key):
        tmp = key + ".tmp"
        for p in (tmp, tmp + ".pub"):
            if os.path.exists(p):
                os.unlink(p)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "virt-sriov-lab", "-f", tmp],
            capture_output=True)
        os.rename(tmp + ".pub", key + ".pub")
        os.rename(tmp, key)
    return key


def base_key(cmdline, libvirt=LIBVIRT_DEFAULT):
    with open(ssh_key() + ".pub") as f:
        pub = f.read()
    return sha(rootfs_key(libvirt), cmdline, GRUB_CFG, DISK_SIZE, pub, json.dumps(BASE_FILES),
               " ".join(BASE_MASKED), *[lab_file(n) for n in GUEST_OS_FILES])


# ----------------------------------------------------------------------------- deps

def qemu_version():
    exe = shutil.which(QEMU)
    if not exe:
        return None
    p = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    m = re.search(r"version (\d+)\.(\d+)", p.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else None


def missing_deps():
    missing = []
    v = qemu_version()
    if not v or v[0] < QEMU_MIN_MAJOR:
        missing.append(f"{QEMU} >= {QEMU_MIN_MAJOR} (found {'.'.join(map(str, v)) if v else 'none'};"
                       " qemu-system-x86 from bookworm-backports)")
    if not shutil.which("qemu-img"):
        missing.append("qemu-img (qemu-utils)")
    for tool, pkg in HOST_TOOLS.items():
        if not shutil.which(tool):
            missing.append(f"{tool} ({pkg})")
    if not os.path.exists(os.path.join(GRUB_I386, "boot.img")):
        missing.append(f"{GRUB_I386} (grub-pc-bin)")
    return missing


APT_SOURCES = "/etc/apt/sources.list.d/debian.sources"


def backports_stanza():
    """A bookworm-backports deb822 stanza derived from the machine's own apt config."""
    src = APT_SOURCES
    if not os.path.exists(src):
        raise LabError(f"{src} not found: cannot derive the bookworm-backports source")
    with open(src) as f:
        stanzas = [s for s in re.split(r"\n\s*\n", f.read()) if s.strip()]
    for s in stanzas:
        m = re.search(r"^Suites:(.*)$", s, re.M)
        if m and SUITE in m.group(1).split():
            text = re.sub(r"^Suites:.*$", f"Suites: {SUITE}-backports", s, flags=re.M).strip() + "\n"
            break
    else:
        raise LabError(f"no stanza with suite {SUITE} in {src}")
    return text


def backports_sources():
    """Write the bookworm-backports sources file of the host (for QEMU 10)."""
    dst = "/etc/apt/sources.list.d/virt-sriov-lab-backports.sources"
    text = backports_stanza()
    old = open(dst).read() if os.path.exists(dst) else None
    if old != text:
        with open(dst, "w") as f:
            f.write(text)
        return True
    return False


def cmd_deps(args):
    missing = missing_deps()
    e2e = sorted(set(pkg for tool, pkg in E2E_TOOLS.items() if not shutil.which(tool)))
    if e2e and not missing:
        if os.geteuid() != 0:
            raise LabError("missing: " + ", ".join(e2e) + " (for the e2e tests) -- run `deps` as root")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        lock = ["-o", "DPkg::Lock::Timeout=600"]
        run(["apt-get", "update", "-q"] + lock, env=env)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + lock + e2e, env=env)
    if not missing:
        log(f"host dependencies present (QEMU {'.'.join(map(str, qemu_version()))})")
        return 0
    if os.geteuid() != 0:
        raise LabError("missing: " + "; ".join(missing) + " -- run `deps` as root")
    log("missing: " + "; ".join(missing))
    backports_sources()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # Wait for another apt/dpkg (make's sysdeps, unattended-upgrades) instead of failing at once.
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    run(["apt-get", "update", "-q"] + lock, env=env)
    run(["apt-get", "install", "-y", "-q"] + lock
        + ["-t", f"{SUITE}-backports", "qemu-system-x86", "qemu-utils"], env=env)
    run(["apt-get", "install", "-y", "-q"] + lock
        + ["mmdebstrap", "grub-pc-bin", "grub2-common", "e2fsprogs", "fdisk", "mount",
           "openssh-client"], env=env)
    if e2e:
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + lock + e2e, env=env)
    missing = missing_deps()
    if missing:
        raise LabError("still missing after apt-get: " + "; ".join(missing))
    log(f"host dependencies installed (QEMU {'.'.join(map(str, qemu_version()))})")
    return 0


def require_deps():
    missing = missing_deps()
    if missing:
        raise LabError("host is missing: " + "; ".join(missing) +
                       f"\n  run: python3 {os.path.relpath(__file__)} deps")


# ----------------------------------------------------------------------------- build

def build_rootfs(libvirt=LIBVIRT_DEFAULT):
    """Debian rootfs tarball, cached by the recipe hash (one per libvirt variant)."""
    key = rootfs_key(libvirt)
    out = os.path.join(cache_dir(), f"rootfs-{key}.tar")
    if os.path.exists(out):
        return out
    require_deps()
    if os.geteuid() != 0:
        raise LabError("building the image needs root (mmdebstrap, loop devices)")
    t0 = time.time()
    work = tempfile.mkdtemp(prefix="rootfs-", dir=cache_dir())
    try:
        root = os.path.join(work, "root")
        hook = os.path.join(work, "customize.sh")
        write_files(work, {"customize.sh": CUSTOMIZE})
        mirrors = [APT_SOURCES]
        hooks = []
        extra = LIBVIRT_BACKPORTS[libvirt]
        if extra:
            # the backports suite is derived from the machine's own sources, like the main one
            bp = os.path.join(work, "backports.sources")
            bp_hook = os.path.join(work, "backports.sh")
            write_files(work, {"backports.sources": backports_stanza(), "backports.sh": BACKPORTS_HOOK})
            mirrors.append(bp)
            hooks.append("--customize-hook=sh " + shlex.join([bp_hook]) + ' "$1" '
                         + shlex.join([f"{SUITE}-backports"] + extra))
        hooks.append("--customize-hook=sh " + shlex.quote(hook) + ' "$1"')
        log(f"mmdebstrap {SUITE} ({len(PACKAGES)} packages, libvirt {libvirt}"
            f"{' from ' + SUITE + '-backports' if extra else ''}) -> {out} (about 2 minutes)")
        run(["mmdebstrap", f"--variant={VARIANT}", "--include=" + ",".join(PACKAGES), *hooks,
             SUITE, root, *mirrors],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        write_files(root, {
            "etc/systemd/network/10-mgmt.network": NETWORKD_MGMT,
            "etc/default/libvirt-guests": LIBVIRT_GUESTS,
            "etc/default/libvirtd": LIBVIRTD_DEFAULT,
            "etc/libvirt/qemu/guestVM.xml": guest_xml(),
            "usr/local/share/virt-sriov-lab/guestVM.xml": guest_xml(),
        })
        os.chmod(os.path.join(root, "etc/libvirt/qemu/guestVM.xml"), 0o600)
        tmp = out + ".tmp"
        run(["tar", "-C", root, "--xattrs", "--xattrs-include=*", "--numeric-owner",
             "-cpf", tmp, "."], capture_output=True)
        os.rename(tmp, out)
        log(f"rootfs built in {time.time() - t0:.0f}s")
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_files(root, files):
    for rel, text in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)


def base_image_path(cmdline, libvirt=LIBVIRT_DEFAULT):
    return os.path.join(cache_dir(), f"base-{base_key(cmdline, libvirt)}.raw")


class build_lock:
    """Serialise builds of concurrent lab.py runs (several users or test runs may share the cache)."""

    def __enter__(self):
        self.f = open(os.path.join(cache_dir(), ".build.lock"), "w")
        try:
            fcntl.flock(self.f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another lab.py is building: waiting for its lock")
            fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def build_base(cmdline, libvirt=LIBVIRT_DEFAULT):
    """Bootable partitioned raw disk (MBR + GRUB) for one kernel command line and libvirt."""
    out = base_image_path(cmdline, libvirt)
    if os.path.exists(out):
        return out
    with build_lock():
        if os.path.exists(out):
            return out
        return _build_base(cmdline, out, libvirt)


def _build_base(cmdline, out, libvirt=LIBVIRT_DEFAULT):
    tarball = build_rootfs(libvirt)
    t0 = time.time()
    tmp = out + ".tmp"
    mnt = tempfile.mkdtemp(prefix="mnt-", dir=cache_dir())
    loops = []
    mounted = False
    try:
        if os.path.exists(tmp):
            os.unlink(tmp)
        run(["truncate", "-s", DISK_SIZE, tmp])
        run(["sfdisk", "-q", tmp], input=f"label: dos\nstart={PART_START}, type=83, bootable\n",
            capture_output=True)
        part = run(["losetup", "-f", "--show", "-o", str(PART_START * 512), tmp],
                   capture_output=True).stdout.strip()
        loops.append(part)
        fs_uuid = str(uuid.uuid4())
        run(["mkfs.ext4", "-q", "-F", "-U", fs_uuid, "-L", "root", part], capture_output=True)
        run(["mount", part, mnt], capture_output=True)
        mounted = True
        run(["tar", "-C", mnt, "--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf",
             tarball], capture_output=True)
        boot = os.path.join(mnt, "boot")
        vmlinuz = sorted(f for f in os.listdir(boot) if f.startswith("vmlinuz-"))[-1]
        initrd = sorted(f for f in os.listdir(boot) if f.startswith("initrd.img-"))[-1]
        with open(ssh_key() + ".pub") as f:
            pub = f.read()
        write_files(mnt, {
            "etc/fstab": f"UUID={fs_uuid} / ext4 errors=remount-ro 0 1\n",
            "etc/default/grub": DEFAULT_GRUB.replace("@CMDLINE@", cmdline),
            "root/.ssh/authorized_keys": pub,
            **BASE_FILES,
        })
        for unit in BASE_MASKED:
            link = os.path.join(mnt, "etc/systemd/system", unit)
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink("/dev/null", link)
        os.chmod(os.path.join(mnt, "root/.ssh/authorized_keys"), 0o600)
        install_guest_os(mnt)
        disk = run(["losetup", "-f", "--show", tmp], capture_output=True).stdout.strip()
        loops.append(disk)
        run(["grub-install", "--target=i386-pc", f"--directory={GRUB_I386}",
             f"--boot-directory={boot}", "--modules=part_msdos ext2", disk],
            capture_output=True)
        cfg = (GRUB_CFG.replace("@UUID@", fs_uuid).replace("@VMLINUZ@", vmlinuz)
               .replace("@INITRD@", initrd).replace("@CMDLINE@", cmdline))
        write_files(mnt, {"boot/grub/grub.cfg": cfg})
        run(["umount", mnt], capture_output=True)
        mounted = False
        for lo in reversed(loops):
            run(["losetup", "-d", lo], capture_output=True)
        loops = []
        os.rename(tmp, out)
        log(f"base disk ({cmdline}) built in {time.time() - t0:.0f}s: {out}")
        return out
    finally:
        if mounted:
            subprocess.run(["umount", "-l", mnt], capture_output=True, check=False)
        for lo in loops:
            subprocess.run(["losetup", "-d", lo], capture_output=True, check=False)
        if os.path.exists(tmp):
            os.unlink(tmp)
        shutil.rmtree(mnt, ignore_errors=True)


def install_guest_os(root):
    """guestOS: its domain XML, its kernel (vmlinux) and initramfs, built in the image from the
    image's own files."""
    write_files(root, {
        "etc/libvirt/qemu/guestOS.xml": lab_file("guestOS.xml"),
        "usr/local/share/virt-sriov-lab/guestOS.xml": lab_file("guestOS.xml"),
    })
    os.chmod(os.path.join(root, "etc/libvirt/qemu/guestOS.xml"), 0o600)
    work = tempfile.mkdtemp(prefix="guest-", dir=cache_dir())
    try:
        names = ("build-guest-initrd.sh", "guest-init.sh", "extract-vmlinux.py")
        write_files(work, {n: lab_file(n) for n in names})
        script, init, extract = (os.path.join(work, n) for n in names)
        run(["sh", script, root, init, extract], capture_output=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cmd_build(args):
    t0 = time.time()
    if args.all_variants:
        variants = [kernel_cmdline(c, i) for c in (True, False) for i in ("intel", "amd")]
    else:
        variants = [kernel_cmdline(args.iommu_cmdline, args.iommu)]
    for v in variants:
        build_base(v, args.libvirt)
    log(f"build done in {time.time() - t0:.0f}s")
    return 0


# ----------------------------------------------------------------------------- instances

class Instance:
    def __init__(self, name):
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise LabError(f"bad instance name {name!r}")
        self.name = name
        self.dir = os.path.join(cache_dir(), "instances", name)
        self.state_file = os.path.join(self.dir, "state.json")
        self.overlay = os.path.join(self.dir, "disk.qcow2")
        self.pidfile = os.path.join(self.dir, "qemu.pid")
        self.serial = os.path.join(self.dir, "serial.log")
        self.qmp = os.path.join(self.dir, "qmp.sock")
        self.ctl = os.path.join(self.dir, "ssh-ctl")

    def state(self):
        try:
            with open(self.state_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def save_state(self, st):
        os.makedirs(self.dir, exist_ok=True)
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f, indent=2)
        os.rename(tmp, self.state_file)

    def pid(self):
        """PID of this instance's QEMU if it is running (verified by its command line)."""
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except (OSError, ValueError):
            return None
        return pid if self.pidfile in cmd else None

    def port(self):
        return self.state().get("port")

    def ssh_base(self):
        port = self.port()
        if not port:
            raise LabError(f"instance {self.name} has no recorded port (not started?)")
        return ["ssh", "-i", ssh_key(), "-p", str(port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={SSH_TIMEOUT}",
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6",
                "-o", "ControlMaster=auto", "-o", f"ControlPath={self.ctl}",
                "-o", "ControlPersist=120", "root@127.0.0.1"]

    def ssh(self, command, timeout=None, **kw):
        cmd = self.ssh_base() + ([command] if isinstance(command, str) else list(command))
        kw.setdefault("text", True)
        check = kw.pop("check", False)
        return subprocess.run(cmd, timeout=timeout, stdin=subprocess.DEVNULL, check=check, **kw)

    def ssh_probe(self, timeout=15):
        """boot_id of the guest, or None if SSH does not answer yet."""
        cmd = self.ssh_base()
        # no connection multiplexing for probes: a stale master must not fake liveness
        cmd[cmd.index(f"ControlPath={self.ctl}") - 1:cmd.index(f"ControlPath={self.ctl}") + 1] = []
        cmd[cmd.index("ControlMaster=auto") - 1:cmd.index("ControlMaster=auto") + 1] = []
        cmd[cmd.index("ControlPersist=120") - 1:cmd.index("ControlPersist=120") + 1] = []
        cmd[cmd.index(f"ConnectTimeout={SSH_TIMEOUT}")] = "ConnectTimeout=10"  # below `timeout`
        cmd += ["cat /proc/sys/kernel/random/boot_id"]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            return None
        return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None

    def close_master(self):
        if os.path.exists(self.ctl):
            subprocess.run(["ssh", "-o", f"ControlPath={self.ctl}", "-O", "exit", "x"],
                           capture_output=True, check=False)
            try:
                os.unlink(self.ctl)
            except OSError:
                pass

    def serial_tail(self, n=1):
        try:
            with open(self.serial, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - 8192))
                lines = [ln.strip() for ln in f.read().decode(errors="replace")
                         .replace("\r", "\n").split("\n")]
        except OSError:
            return []
        lines = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", ln) for ln in lines]
        return [ln for ln in lines if ln][-n:]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_from_args(args):
    return {
        "pfs": args.pfs, "iommu": args.iommu, "iommu_cmdline": args.iommu_cmdline,
        "memory": args.memory, "smp": args.smp,
        "libvirt": args.libvirt,
        # only when given, so that the config of instances started without it stays equal
        **({"cpu_vendor": args.cpu_vendor} if getattr(args, "cpu_vendor", None) else {}),
    }


def same_config(old, new):
    """Instances started before an option existed ran with that option's default."""
    return dict({"libvirt": LIBVIRT_DEFAULT}, **(old or {})) == new


def qemu_cmd(inst, cfg, port):
    iommu = cfg["iommu"]
    # split irqchip for VT-d interrupt remapping; AMD-Vi with intremap panics the 6.1 guest
    # under TCG ("timer doesn't work through Interrupt-remapped IO-APIC"), so it runs without.
    machine = "q35,kernel-irqchip=split" if iommu == "intel" else "q35"
    vendor = cfg.get("cpu_vendor") or {"amd": "AuthenticAMD"}.get(iommu, "GenuineIntel")
    cmd = [QEMU, "-name", f"virt-sriov-lab-{inst.name}",
           "-machine", machine, "-accel", "tcg,thread=multi",
           "-cpu", f"max,vendor={vendor}", "-smp", str(cfg["smp"]), "-m", str(cfg["memory"]),
           "-nodefaults", "-display", "none", "-vga", "none",
           "-serial", f"file:{inst.serial}", "-monitor", "none",
           "-qmp", f"unix:{inst.qmp},server=on,wait=off",
           "-pidfile", inst.pidfile, "-daemonize"]
    # the IOMMU must be created before any PCI device
    if iommu == "intel":
        cmd += ["-device", "intel-iommu,intremap=on,caching-mode=on"]
    elif iommu == "amd":
        cmd += ["-device", "amd-iommu,intremap=off"]
    for i in range(1, cfg["pfs"] + 1):
        cmd += ["-device", f"pcie-root-port,id=rp{i},slot={i},chassis={i}",
                "-netdev", f"user,id=sr{i},restrict=on",
                "-device", f"igb,netdev=sr{i},bus=rp{i},mac=52:54:00:5a:00:{i:02x}"]
    cmd += ["-drive", f"file={inst.overlay},if=none,id=disk0,format=qcow2,cache=unsafe,discard=unmap",
            "-device", "virtio-blk-pci,drive=disk0",
            "-netdev", f"user,id=mgmt,hostfwd=tcp:127.0.0.1:{port}-:22",
            "-device", f"virtio-net-pci,netdev=mgmt,mac={MGMT_MAC}"]
    return cmd


def start(inst, cfg, fresh=False, wait=True, timeout=600):
    require_deps()
    if cfg["iommu"] == "amd":
        log("WARNING: --iommu amd is experimental: under TCG the guest loses IO-APIC interrupts "
            "behind amd-iommu (30 s stalls per console write); it did not reach SSH within "
            "400 s in our runs. See tests/lab/README.md.")
    base = build_base(kernel_cmdline(cfg["iommu_cmdline"], cfg["iommu"]),
                      cfg.get("libvirt", LIBVIRT_DEFAULT))
    st = inst.state()
    pid = inst.pid()
    if pid:
        if not fresh and same_config(st.get("config"), cfg):
            log(f"instance {inst.name} already running (pid {pid}, port {st.get('port')}): reusing")
            if st.get("base") != base:
                log("note: it runs on an older base image; `start --fresh` moves it to the new one")
            if wait:
                wait_ssh(inst, timeout)
            return
        why = "--fresh requested" if fresh else "running with a different config"
        log(f"instance {inst.name} {why}: stopping it")
        stop(inst)
    os.makedirs(inst.dir, exist_ok=True)
    if fresh or not os.path.exists(inst.overlay) or st.get("base") != base:
        if os.path.exists(inst.overlay):
            os.unlink(inst.overlay)
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base, inst.overlay],
            capture_output=True)
    for p in (inst.pidfile, inst.qmp):
        if os.path.exists(p):
            os.unlink(p)
    inst.close_master()
    port = free_port()
    cmd = qemu_cmd(inst, cfg, port)
    with open(inst.serial, "w"):
        pass
    with open(os.path.join(inst.dir, "qemu.cmdline"), "w") as f:
        f.write(shlex.join(cmd) + "\n")
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise LabError(f"QEMU failed to start ({p.returncode}):\n{p.stderr.strip()}\n"
                       f"command: {shlex.join(cmd)}")
    st = {"config": cfg, "base": base, "port": port, "started": time.time(),
          "pid": inst.pid()}
    inst.save_state(st)
    log(f"started {inst.name}: pid {st['pid']}, ssh on 127.0.0.1:{port}, "
        f"{cfg['pfs']} igb PF(s), iommu={cfg['iommu']}, cmdline iommu args="
        f"{'on' if cfg['iommu_cmdline'] else 'off'}, libvirt {cfg.get('libvirt', LIBVIRT_DEFAULT)}")
    if wait:
        wait_ssh(inst, timeout)


def wait_ssh(inst, timeout=600, not_boot_id=None):
    """Wait until SSH answers (with a boot_id different from not_boot_id)."""
    t0 = time.time()
    last = 0
    while True:
        if not inst.pid():
            tail = "\n  ".join(inst.serial_tail(15))
            raise LabError(f"QEMU of instance {inst.name} is not running.\n  serial:\n  {tail}")
        panic = [ln for ln in inst.serial_tail(40) if "Kernel panic" in ln]
        if panic:
            tail = "\n  ".join(inst.serial_tail(15))
            raise LabError(f"guest kernel of instance {inst.name} panicked: {panic[0]}\n"
                           f"  serial ({inst.serial}):\n  {tail}")
        bid = inst.ssh_probe()
        if bid and bid != not_boot_id:
            el = time.time() - t0
            log(f"SSH up after {el:.0f}s (port {inst.port()}, boot_id {bid[:8]})")
            st = inst.state()
            st["boot_id"] = bid
            st.setdefault("boot_times", []).append(round(el, 1))
            st["boot_times"] = st["boot_times"][-10:]
            inst.save_state(st)
            return bid
        el = time.time() - t0
        if el > timeout:
            tail = "\n  ".join(inst.serial_tail(15))
            raise LabError(f"SSH of instance {inst.name} did not answer within {timeout}s.\n"
                           f"  serial ({inst.serial}):\n  {tail}")
        if el - last >= 10:
            last = el
            tail = inst.serial_tail(1)
            log(f"waiting for SSH on {inst.name} ({el:.0f}s) console: {tail[0][:100] if tail else '-'}")
        time.sleep(2)


def stop(inst, timeout=20):
    pid = inst.pid()
    if not pid:
        log(f"instance {inst.name} is not running")
        inst.close_master()
        return
    log(f"stopping {inst.name} (pid {pid})")
    try:
        ok = inst.ssh("systemctl poweroff --no-block", timeout=10,
                      capture_output=True).returncode == 0
    except (subprocess.TimeoutExpired, LabError):
        ok = False
    inst.close_master()
    if not ok:
        log("guest did not accept poweroff over SSH")
        timeout = 2

    def gone(t):
        end = time.time() + t
        while time.time() < end:
            if not os.path.exists(f"/proc/{pid}") or inst.pid() != pid:
                return True
            time.sleep(0.5)
        return False

    if not gone(timeout):
        log("guest did not power off in time: SIGTERM")
        os.kill(pid, signal.SIGTERM)
        if not gone(10):
            log("SIGKILL")
            os.kill(pid, signal.SIGKILL)
            gone(5)
    for p in (inst.pidfile, inst.qmp):
        if os.path.exists(p):
            os.unlink(p)
    log(f"stopped {inst.name}")


def reboot(inst, timeout=600):
    if not inst.pid():
        raise LabError(f"instance {inst.name} is not running")
    old = inst.ssh_probe()
    if not old:
        raise LabError(f"instance {inst.name}: SSH does not answer, cannot reboot through it")
    t0 = time.time()
    inst.ssh("systemctl reboot --no-block", timeout=20, capture_output=True)
    inst.close_master()
    wait_ssh(inst, timeout, not_boot_id=old)
    log(f"reboot took {time.time() - t0:.0f}s")


def inventory_text(inst, fmt="ini"):
    port = inst.port()
    if not port:
        raise LabError(f"instance {inst.name} not started")
    key = ssh_key()
    # Keepalives: QEMU's user networking keeps the host side of a connection open across a guest
    # reboot, so without them ansible.builtin.reboot waits on a dead connection (seen: 20 min).
    common = ("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
              "-o ServerAliveInterval=10 -o ServerAliveCountMax=6")
    # A busy lab (a nested guest under TCG takes its vCPUs) can take longer than Ansible's default
    # 10 s to send the SSH banner on a new connection (seen in CI: "Connection timed out during
    # banner exchange"): a longer timeout, and retries for a connection that never got a banner.
    if fmt == "yaml":
        return (f"all:\n  children:\n    sriov_lab:\n      hosts:\n        {inst.name}:\n"
                f"          ansible_host: 127.0.0.1\n          ansible_port: {port}\n"
                f"          ansible_user: root\n          ansible_ssh_private_key_file: {key}\n"
                f"          ansible_ssh_common_args: '{common}'\n"
                f"          ansible_ssh_timeout: {SSH_TIMEOUT}\n"
                f"          ansible_ssh_retries: {SSH_RETRIES}\n"
                f"          ansible_python_interpreter: /usr/bin/python3\n")
    return (f"[sriov_lab]\n{inst.name} ansible_host=127.0.0.1 ansible_port={port} "
            f"ansible_user=root ansible_ssh_private_key_file={key} "
            f"ansible_ssh_common_args='{common}' ansible_ssh_timeout={SSH_TIMEOUT} "
            f"ansible_ssh_retries={SSH_RETRIES} ansible_python_interpreter=/usr/bin/python3\n")


# ----------------------------------------------------------------------------- CLI

def main(argv=None):
    def common(p, top):
        # accepted before and after the subcommand (`lab.py --name x stop` == `lab.py stop --name x`)
        d = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
        p.add_argument("--name", default=d(os.environ.get("VIRT_SRIOV_LAB_NAME", "lab")),
                       help="instance name (default: $VIRT_SRIOV_LAB_NAME or lab); each instance "
                            "has its own port and run dir")
        p.add_argument("--pfs", type=int, default=d(2),
                       help="number of igb (82576) ports (default 2)")
        p.add_argument("--iommu", choices=["intel", "amd", "none"], default=d("intel"),
                       help="emulated IOMMU (default intel)")
        p.add_argument("--iommu-cmdline", dest="iommu_cmdline",
                       action=argparse.BooleanOptionalAction, default=d(True),
                       help=f"kernel command line has '{IOMMU_ARGS}' (default on)")
        p.add_argument("--cpu-vendor", dest="cpu_vendor", choices=["GenuineIntel", "AuthenticAMD"],
                       default=d(None),
                       help="CPU vendor_id the guest sees (default: GenuineIntel, AuthenticAMD with "
                            "--iommu amd); AuthenticAMD with --iommu intel is the nested-cloud pairing")
        p.add_argument("--memory", type=int, default=d(2048), help="guest RAM in MiB (default 2048)")
        p.add_argument("--smp", type=int, default=d(2), help="guest vCPUs (default 2)")
        p.add_argument("--libvirt", choices=sorted(LIBVIRT_BACKPORTS, key=int),
                       default=d(LIBVIRT_DEFAULT),
                       help="libvirt in the image: 9 (Debian 12: 9.0, QEMU 7.2) or 11 "
                            "(bookworm-backports: 11.3, QEMU 10.0); default 9")

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    common(ap, True)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def add(name, help):
        p = sub.add_parser(name, help=help)
        common(p, False)
        return p

    add("deps", help="install host packages (QEMU 10 from bookworm-backports, ...)")
    b = add("build", help="build (or reuse) the cached image")
    b.add_argument("--all-variants", action="store_true",
                   help="build base disks for every kernel command line variant")
    s = add("start", help="start (or reuse) the instance and wait for SSH")
    s.add_argument("--fresh", action="store_true", help="discard the instance's disk overlay")
    s.add_argument("--no-wait", dest="wait", action="store_false", help="do not wait for SSH")
    s.add_argument("--timeout", type=int, default=600)
    add("stop", help="power off (then SIGTERM/SIGKILL) the instance's own QEMU")
    r = add("reboot", help="reboot the guest and wait for SSH (new boot_id)")
    r.add_argument("--timeout", type=int, default=600)
    w = add("wait", help="wait until SSH answers")
    w.add_argument("--timeout", type=int, default=600)
    sh = add("ssh", help="ssh into the guest (interactive without CMD)")
    sh.add_argument("command", nargs=argparse.REMAINDER)
    i = add("inventory", help="print an Ansible inventory for the instance")
    i.add_argument("--format", choices=["ini", "yaml"], default="ini")
    i.add_argument("--write", metavar="PATH", help="write it to PATH instead of stdout")
    add("status", help="show the instance's state (JSON)")
    add("list", help="list instances and whether they run")
    args = ap.parse_args(argv)
    if args.pfs < 0 or args.pfs > 8:
        ap.error("--pfs must be between 0 and 8")

    try:
        if args.cmd == "deps":
            return cmd_deps(args)
        if args.cmd == "build":
            return cmd_build(args)
        if args.cmd == "list":
            root = os.path.join(cache_dir(), "instances")
            for n in sorted(os.listdir(root)) if os.path.isdir(root) else []:
                i = Instance(n)
                pid = i.pid()
                print(f"{n:20} {'running pid ' + str(pid) if pid else 'stopped':18} "
                      f"port {i.port()} {json.dumps(i.state().get('config'))}")
            return 0
        inst = Instance(args.name)
        if args.cmd == "start":
            start(inst, config_from_args(args), fresh=args.fresh, wait=args.wait,
                  timeout=args.timeout)
        elif args.cmd == "stop":
            stop(inst)
        elif args.cmd == "reboot":
            reboot(inst, args.timeout)
        elif args.cmd == "wait":
            if not inst.pid():
                raise LabError(f"instance {inst.name} is not running")
            wait_ssh(inst, args.timeout)
        elif args.cmd == "ssh":
            if not inst.pid():
                raise LabError(f"instance {inst.name} is not running")
            command = args.command[1:] if args.command[:1] == ["--"] else args.command
            if not command:
                return subprocess.call(inst.ssh_base()[:-1] + ["-t", "root@127.0.0.1"])
            return subprocess.call(inst.ssh_base() + [shlex.join(command) if len(command) > 1
                                                      else command[0]])
        elif args.cmd == "inventory":
            text = inventory_text(inst, args.format)
            if args.write:
                with open(args.write, "w") as f:
                    f.write(text)
            else:
                sys.stdout.write(text)
        elif args.cmd == "status":
            st = inst.state()
            pid = inst.pid()
            st.update(name=inst.name, running=bool(pid), pid=pid, dir=inst.dir,
                      ssh_key=ssh_key(),
                      ssh_up=bool(pid and inst.ssh_probe()))
            print(json.dumps(st, indent=2))
            return 0 if pid else 3
        return 0
    except LabError as e:
        print(f"lab.py: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lab.py: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
