"""Write a local Sphinx inventory for the Ansible docs labels the generated rst refers to.

The docs build runs offline, so intersphinx cannot download Ansible's objects.inv. This writes
one with just the labels antsibull-docs emits and whose pages are known (plugin pages of other
collections, a few fixed guide labels). Labels it does not know stay unresolved and still fail
the build, as they should.
Usage: docs-inventory.py RST_DIR OUTPUT_INV
"""
import pathlib
import re
import sys
import zlib

KNOWN = {
    "ansible_configuration_settings":
        ("reference_appendices/config.html#ansible-configuration-settings", "Ansible Configuration Settings"),
    "common_return_values":
        ("reference_appendices/common_return_values.html#common-return-values", "Return Values"),
    "list_of_collections": ("collections/index.html#list-of-collections", "Collection Index"),
    "module_defaults_groups":
        ("playbook_guide/playbooks_module_defaults.html#module-defaults-groups", "Module defaults groups"),
    "module_defaults": ("playbook_guide/playbooks_module_defaults.html#module-defaults", "Module defaults"),
    "check_mode_dry": ("playbook_guide/playbooks_checkmode.html#check-mode-dry", "Check mode"),
    "diff_mode": ("playbook_guide/playbooks_checkmode.html#diff-mode", "Diff mode"),
    "playbooks_vars_facts": ("playbook_guide/playbooks_vars_facts.html#vars-and-facts", "Facts"),
}
PLUGIN = re.compile(r"^ansible_collections\.([a-z0-9_]+)\.([a-z0-9_]+)\.(.+)_(module|[a-z]+)$")


def main(rst_dir, out):
    text = "\n".join(p.read_text() for p in pathlib.Path(rst_dir).rglob("*.rst"))
    defined = set(re.findall(r"^\.\. _([^:]+):", text, re.M))
    used = set(re.findall(r":ref:`(?:[^`<]*<)?([^`<>]+)>?`", text))
    lines = []
    for label in sorted(used - defined):
        if label in KNOWN:
            uri, title = KNOWN[label]
        else:
            m = PLUGIN.match(label)
            if not m or (m.group(1), m.group(2)) == ("virt", "sriov"):
                continue
            ns, coll, name, kind = m.groups()
            anchor = label.replace(".", "-").replace("_", "-")
            uri = "collections/%s/%s/%s_%s.html#%s" % (ns, coll, name, kind, anchor)
            title = "%s.%s.%s %s" % (ns, coll, name, kind)
        lines.append("%s std:label -1 %s %s" % (label.lower(), uri, title))
    header = (b"# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
              b"# The remainder of this file is compressed using zlib.\n")
    pathlib.Path(out).write_bytes(header + zlib.compress(("\n".join(lines) + "\n").encode()))


if __name__ == "__main__":
    main(*sys.argv[1:3])
