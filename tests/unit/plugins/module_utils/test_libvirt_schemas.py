# -*- coding: utf-8 -*-
# Copyright: virt.sriov contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every XML document the collection hands to libvirt, validated against libvirt's own RelaxNG
schemas with lxml.

The modules build XML with the standard library only (targets need no lxml); this test proves
that what they build is XML libvirt accepts: the ``<interface>`` of libvirt_hostdev_interface
(hostdev and network forms, MAC, VLAN, 802.1Qbh virtualport) and the ``<network>`` of
libvirt_vf_pool_network (PF or VF list, managed, driver, VLAN, kept elements of an existing
definition). The schemas come from the Debian package that ships /usr/share/libvirt/schemas
(libvirt0 up to libvirt 9, libvirt-common from libvirt 10; ``make sysdeps`` installs it). Without
them the test fails and says so: it never skips.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import xml.etree.ElementTree as ET

import pytest
from lxml import etree  # a test dependency (requirements/main.txt), never needed on targets

# The builders under test, in one place: a rename in module_utils is a one-line fix here.
from ansible_collections.virt.sriov.plugins.module_utils._libvirt_interface import (
    build_element as build_interface_element,
    parse_request as parse_interface_request,
    to_text as interface_to_text,
)
from ansible_collections.virt.sriov.plugins.module_utils._libvirt_network import (
    build_network_xml,
    desired_canonical as network_desired,
    pretty as network_pretty,
)
from ansible_collections.virt.sriov.plugins.module_utils._mac import derive_mac
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address

SCHEMA_DIR = os.environ.get("VIRT_SRIOV_LIBVIRT_SCHEMAS", "/usr/share/libvirt/schemas")
GUEST_UUID = "c7a5fdbd-edaf-9455-926a-d65c16db1809"
NETWORK_UUID = "2e6a5a1b-3c5e-4d8e-9a57-7b0f3f1f8f21"

# A guest definition as small as the domain schema allows; the interface goes into <devices>.
MINIMAL_DOMAIN = (
    "<domain type='kvm'><name>guestVM</name><uuid>%s</uuid><memory unit='KiB'>1048576</memory>"
    "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices/></domain>" % GUEST_UUID)


def _schema(name):
    path = os.path.join(SCHEMA_DIR, name)
    if not os.path.isfile(path):
        pytest.fail(
            "libvirt's RelaxNG schema %s is missing: install the Debian package that ships "
            "/usr/share/libvirt/schemas (libvirt0 for libvirt 9, libvirt-common from libvirt 10; "
            "`make sysdeps` does it) or point VIRT_SRIOV_LIBVIRT_SCHEMAS at a copy." % path,
            pytrace=False)
    # parse() from the file keeps its base URL, so the schema's <include>s resolve.
    return etree.RelaxNG(etree.parse(path))


@pytest.fixture(scope="module")
def domain_schema():
    return _schema("domain.rng")


@pytest.fixture(scope="module")
def network_schema():
    return _schema("network.rng")


def _assert_valid(schema, document, text):
    if not schema.validate(document):
        errors = "\n".join("  line %d: %s" % (e.line, e.message) for e in schema.error_log)
        pytest.fail("libvirt's schema rejects this XML:\n%s\n%s" % (text, errors), pytrace=False)


def _in_domain(interface_xml):
    domain = etree.fromstring(MINIMAL_DOMAIN)
    domain.find("devices").append(etree.fromstring(interface_xml))
    return domain


# -- the guest interface (libvirt_hostdev_interface) ----------------------------------------------

VF = "0000:01:10.2"
INTERFACE_PARAMS = [
    pytest.param(dict(pci_address=VF), id="hostdev"),
    pytest.param(dict(pci_address="0001:fe:1f.7"), id="hostdev-pci-limits"),
    pytest.param(dict(pci_address={"domain": 0, "bus": "0x03", "slot": "0x10", "function": 2}), id="hostdev-guide-dict"),
    pytest.param(dict(pci_address=VF, mac="52:54:00:6D:90:02"), id="hostdev-mac"),
    pytest.param(dict(pci_address=VF, vlan=0), id="hostdev-vlan-0"),
    pytest.param(dict(pci_address=VF, vlan=42, mac="52:54:00:6d:90:02"), id="hostdev-vlan-mac"),
    pytest.param(dict(pci_address=VF, vlan=4095), id="hostdev-vlan-4095"),
    pytest.param(dict(pci_address=VF, virtualport={"type": "802.1Qbh", "profileid": "finance"}), id="hostdev-8021qbh"),
    pytest.param(dict(pci_address=VF, virtualport={"profileid": "p" * 38 + "~"}), id="hostdev-8021qbh-longest-profile"),
    pytest.param(dict(pci_address=VF, virtualport={"profileid": "a<b>&'\""}), id="hostdev-8021qbh-markup-profile"),
    pytest.param(dict(network="passthrough"), id="network"),
    pytest.param(dict(network="pool.v42+a_b-c", mac="52:54:00:00:00:01"), id="network-mac"),
    pytest.param(dict(network="passthrough", vlan=42), id="network-vlan"),
    pytest.param(dict(network="passthrough", virtualport={"profileid": "finance"}), id="network-8021qbh"),
]


def _desired_interface(params):
    """The ``desired`` dict ensure_interface() builds, from validated module parameters."""
    request = parse_interface_request(dict(dict(domain="guestVM"), **params))
    identity = request["network"] and "network:%s:0" % request["network"] or str(request["pci_address"])
    return {
        "network": request["network"],
        "vf": request["pci_address"],
        "mac": request["mac"] or derive_mac(GUEST_UUID, identity),
        "vlan": request["vlan"],
        "virtualport": request["virtualport"],
    }


@pytest.mark.parametrize("params", INTERFACE_PARAMS)
def test_interface_matches_libvirt_domain_schema(domain_schema, params):
    element = build_interface_element(_desired_interface(params))
    # the compact form goes to attachDeviceFlags, the pretty one into the diff and results
    for text in (ET.tostring(element, encoding="unicode"), interface_to_text(element)):
        _assert_valid(domain_schema, _in_domain(text), text)


# -- the VF pool network (libvirt_vf_pool_network) ------------------------------------------------

VFS = [parse_pci_address(a) for a in ("0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0001:fe:1f.7")]
PF_POOL = {"pf": "enp1s0", "vfs": None}
VF_POOL = {"pf": None, "vfs": VFS}

NETWORK_PARAMS = [
    pytest.param(("passthrough", PF_POOL, True, "vfio", None), None, None, id="pf"),
    pytest.param(("passthrough", PF_POOL, False, "vfio", 42), None, None, id="pf-unmanaged-vlan"),
    pytest.param(("p", PF_POOL, True, "kvm", 0), None, NETWORK_UUID, id="pf-kvm-vlan0-uuid"),
    pytest.param(("pool.v42+a_b-c", VF_POOL, True, "vfio", 4095), None, None, id="vfs"),
    pytest.param(("p", {"pf": None, "vfs": VFS[:1]}, False, "kvm", None), None, None, id="one-vf"),
    pytest.param(
        ("passthrough", PF_POOL, True, "vfio", 42),
        "<network><name>passthrough</name><uuid>%s</uuid><forward mode='hostdev' managed='yes'>"
        "<driver name='vfio'/><pf dev='enp2s0'/></forward><vlan><tag id='5'/></vlan></network>" % NETWORK_UUID,
        NETWORK_UUID, id="redefine-hostdev"),
    pytest.param(
        ("passthrough", VF_POOL, True, "vfio", 7),
        "<network connections='2'><name>passthrough</name><uuid>%s</uuid>"
        "<metadata><app:note xmlns:app='http://example.com/app'>kept</app:note></metadata>"
        "<forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>"
        "<bridge name='virbr9' stp='on' delay='0'/><mac address='52:54:00:aa:bb:cc'/><mtu size='9000'/>"
        "<domain name='example'/><dns enable='no'/>"
        "<ip address='192.168.150.1' netmask='255.255.255.0'><dhcp><range start='192.168.150.2' "
        "end='192.168.150.254'/></dhcp></ip>"
        "<portgroup name='finance' default='yes'><vlan><tag id='7'/></vlan></portgroup>"
        "<portgroup name='eng'><virtualport type='802.1Qbh'><parameters profileid='eng'/></virtualport>"
        "</portgroup></network>" % NETWORK_UUID,
        NETWORK_UUID, id="redefine-nat-with-kept-elements"),
]


@pytest.mark.parametrize("desired_args, base_xml, uuid", NETWORK_PARAMS)
def test_pool_network_matches_libvirt_network_schema(network_schema, desired_args, base_xml, uuid):
    text = build_network_xml(network_desired(*desired_args), base_xml=base_xml, uuid=uuid)
    _assert_valid(network_schema, etree.fromstring(text), text)
    pretty = network_pretty(text)
    _assert_valid(network_schema, etree.fromstring(pretty), pretty)


# -- the check itself can fail ------------------------------------------------------------------

def test_schema_check_is_not_vacuous(domain_schema, network_schema):
    """The validation is not vacuous: a VF function number libvirt refuses, a forward mode that
    does not exist."""
    bad_interface = ("<interface type='hostdev' managed='yes'><source><address type='pci' domain='0x0000' "
                     "bus='0x01' slot='0x10' function='0x8'/></source></interface>")
    assert not domain_schema.validate(_in_domain(bad_interface))
    bad_network = "<network><name>p</name><forward mode='sriov'><pf dev='enp1s0'/></forward></network>"
    assert not network_schema.validate(etree.fromstring(bad_network))
