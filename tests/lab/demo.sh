#!/usr/bin/env bash
# make demo: the RHEL SR-IOV procedure (Virtualization Deployment Guide 17.2) on the emulated
# hypervisor, by playbooks/sriov_passthrough.yml, then the views the guide shows by hand.
#
# Uses its own lab instance `demo` (not the test suite's `lab`) and reuses it when it is already
# running, so a second `make demo` shows the idempotent re-run (changed=0).
# DEMO_FRESH=1 starts from a clean disk instead.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-.venv}
case $venv in /*) ;; *) venv=$repo/$venv ;; esac
lab=(python3 "$repo/tests/lab/lab.py" --name demo)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting the emulated hypervisor (2 x Intel 82576, emulated VT-d; progress below)"
if [ "${DEMO_FRESH:-0}" = 1 ]; then
  "${lab[@]}" start --fresh
else
  "${lab[@]}" start
fi
"${lab[@]}" inventory --write "$work/lab.ini"

# The guide attaches the VF to a running guest: start the nested guest (no OS, no disk).
"${lab[@]}" ssh -- 'virsh -q domstate guestVM | grep -q running || virsh -q start guestVM' >/dev/null

mkdir -p "$work/collections/ansible_collections/virt"
ln -s "$repo" "$work/collections/ansible_collections/virt/sriov"

say "ansible-playbook playbooks/sriov_passthrough.yml (inventory: lab + playbooks/inventory/lab)"
ANSIBLE_COLLECTIONS_PATH="$work/collections" \
ANSIBLE_PIPELINING=1 \
ANSIBLE_HOST_KEY_CHECKING=0 \
ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-1}" \
  "$venv/bin/ansible-playbook" -i "$work/lab.ini" -i "$repo/playbooks/inventory/lab" \
  "$repo/playbooks/sriov_passthrough.yml"

show() {
  say "$1"
  "${lab[@]}" ssh -- "$2"
}
show "lspci: the SR-IOV NIC and its VFs (guide, figure 17.9)" \
  "lspci | grep -i 'ethernet'"
show "virsh nodedev-list: the VFs as libvirt node devices" \
  "virsh nodedev-list | grep -E 'pci_0000_0[12]_1'"
show "virsh nodedev-dumpxml of VF 1 of enp2s0 (the guest's VF)" \
  "virsh nodedev-dumpxml pci_0000_02_10_2 | grep -E '<(name|driver|capability|address|iommuGroup)'"
show "virsh net-dumpxml passthrough: the VF pool of enp1s0" \
  "virsh net-dumpxml passthrough; virsh net-list --all"
show "guestVM's hostdev interface (persistent definition)" \
  "virsh dumpxml --inactive guestVM | sed -n '/<interface type=.hostdev/,/<\\/interface>/p'"
show "ip link show enp2s0: MAC and VLAN the PF set on the VF" \
  "ip link show enp2s0 | grep -E '^ +vf 1 '"

say "Done. Shell: python3 tests/lab/lab.py --name demo ssh ; stop: python3 tests/lab/lab.py --name demo stop"
