#!/bin/sh
# /init of the nested guest's initramfs (guestOS): busybox only, no disk, no network setup.
# Loads igbvf and prints what the guest sees to the serial console: PCI IDs and drivers, each
# netdev's MAC, PCI address and driver, `ip link` and `ip addr` (busybox's ip has no -d). It
# re-prints whenever the PCI devices or links change (hotplug), passes new kernel messages through
# (pciehp, igbvf), and powers off when the ACPI power button is pressed (`virsh shutdown`).
# Every line it prints starts with "guest:".
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Kernel messages reach the console through the report loop below (`guest: kmsg`), not directly:
# a direct write could split a report line.
dmesg -n 1
for m in evdev button igbvf; do
  insmod "/lib/modules/$m.ko" || echo "guest: insmod $m failed"
done
ip link set lo up

say() { echo "guest: $*" > /dev/console; }

report() {
  {
    echo "guest: === begin $1 uptime $(cut -d' ' -f1 /proc/uptime)"
    for d in /sys/bus/pci/devices/*; do
      drv=none
      [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
      v=$(cat "$d/vendor"); p=$(cat "$d/device")
      echo "guest: pci ${d##*/} ${v#0x}:${p#0x} driver=$drv"
    done
    for nd in /sys/class/net/*; do
      [ -e "$nd/device" ] || continue
      drv=none
      [ -e "$nd/device/driver" ] && drv=$(basename "$(readlink "$nd/device/driver")")
      echo "guest: netdev ${nd##*/} mac=$(cat "$nd/address") pci=$(basename "$(readlink "$nd/device")") driver=$drv"
    done
    ip link | sed 's/^/guest: link /'
    ip addr | sed 's/^/guest: addr /'
    echo "guest: === end $1"
  } > /dev/console
}

# ACPI power button (`virsh shutdown`) -> power off. One reader per input device, holding it open
# (fd 3) and reading one struct input_event at a time with dd: on x86_64 16 bytes of time, u16
# type, u16 code, s32 value; EV_KEY (1) KEY_POWER (116) value 1 is the press. (An od reading the
# device straight into a pipe never passed the press on, most likely because its output into a
# pipe is block-buffered; dd hands over each event as it comes.)
for ev in /dev/input/event*; do
  [ -e "$ev" ] || continue
  say "power button listener on ${ev##*/} ($(cat "/sys/class/input/${ev##*/}/device/name" 2>/dev/null))"
  (exec 3< "$ev"
   while :; do
     e=$(dd bs=24 count=1 <&3 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
     [ -n "$e" ] || exit 0
     if [ "$(echo "$e" | cut -c33-42)" = "0100740001" ]; then
       say "power button: powering off"; sync; poweroff -f
     fi
   done) &
done

say "booted $(uname -r) in $(cut -d' ' -f1 /proc/uptime) s"
dmesg -c > /dev/null
n=0
last=
while :; do
  for l in /sys/class/net/*; do [ "${l##*/}" = lo ] || ip link set "${l##*/}" up 2>/dev/null; done
  dmesg -c | sed 's/^/guest: kmsg /' > /dev/console
  sig=$( (ls -l /sys/bus/pci/devices/*/driver 2>/dev/null; ip -o link) | md5sum)
  n=$((n + 1))
  if [ "$sig" != "$last" ]; then
    report change
    last=$sig
  elif [ $((n % 30)) -eq 0 ]; then
    report periodic
  fi
  sleep 2
done
