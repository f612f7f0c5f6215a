#!/bin/sh
# Builds the nested guest's kernel and initramfs inside the lab image (run by lab.py on the mounted
# base disk; $1 = the image root, $2 = guest-init.sh, $3 = extract-vmlinux.py). Nothing is
# downloaded; everything comes from the image:
# - /boot/virt-sriov-guest-vmlinux: the uncompressed ELF kernel out of the image's /vmlinuz
#   (extract-vmlinux.py, run by the image's python3), booted through QEMU's PVH entry;
# - /boot/virt-sriov-guest-initrd.img: busybox (busybox-static), the igbvf, evdev and button
#   modules of the installed kernel and guest-init.sh as /init, an uncompressed newc cpio (the
#   image's cpio): nothing for the guest kernel to decompress.
set -e
R="$1"
INIT="$2"
EXTRACT="$3"
K=$(find "$R/usr/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
W="$R/tmp/guest-initrd"
rm -rf "$W"
mkdir -p "$W/bin" "$W/proc" "$W/sys" "$W/dev" "$W/lib/modules" "$W/etc"
cp "$EXTRACT" "$R/tmp/extract-vmlinux.py"
chroot "$R" python3 /tmp/extract-vmlinux.py "/boot/vmlinuz-$K" /boot/virt-sriov-guest-vmlinux
rm -f "$R/tmp/extract-vmlinux.py"
cp "$R/bin/busybox" "$W/bin/busybox"
ln -s busybox "$W/bin/sh"
for m in drivers/net/ethernet/intel/igbvf/igbvf.ko drivers/input/evdev.ko drivers/acpi/button.ko; do
  cp "$R/usr/lib/modules/$K/kernel/$m" "$W/lib/modules/"
done
cp "$INIT" "$W/init"
chmod 755 "$W/init" "$W/bin/busybox"
chroot "$R" sh -c 'cd /tmp/guest-initrd && find . | cpio -o -H newc --quiet -R 0:0' \
  > "$R/boot/virt-sriov-guest-initrd.img"
rm -rf "$W"
