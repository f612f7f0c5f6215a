#!/bin/sh
# Builds the nested guest's initramfs inside the lab image (run by lab.py on the mounted base disk;
# $1 = the image root, $2 = guest-init.sh): busybox (busybox-static), the igbvf, evdev and button modules of the installed
# kernel and guest-init.sh as /init, packed with the image's own cpio and gzip. Nothing is
# downloaded. Output: /boot/virt-sriov-guest-initrd.img (the kernel is /vmlinuz).
set -e
R="$1"
INIT="$2"
K=$(find "$R/usr/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
W="$R/tmp/guest-initrd"
rm -rf "$W"
mkdir -p "$W/bin" "$W/proc" "$W/sys" "$W/dev" "$W/lib/modules" "$W/etc"
cp "$R/bin/busybox" "$W/bin/busybox"
ln -s busybox "$W/bin/sh"
for m in drivers/net/ethernet/intel/igbvf/igbvf.ko drivers/input/evdev.ko drivers/acpi/button.ko; do
  cp "$R/usr/lib/modules/$K/kernel/$m" "$W/lib/modules/"
done
cp "$INIT" "$W/init"
chmod 755 "$W/init" "$W/bin/busybox"
chroot "$R" sh -c 'cd /tmp/guest-initrd && find . | cpio -o -H newc --quiet -R 0:0 | gzip -9' \
  > "$R/boot/virt-sriov-guest-initrd.img"
rm -rf "$W"
