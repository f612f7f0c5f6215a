# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One XML pretty-printer for every document the collection shows (diffs, return values).

ElementTree only (targets need no lxml); ``ElementTree.indent`` exists only from Python 3.9.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import xml.etree.ElementTree as ET


def strip_whitespace(root):
    """Drop whitespace-only text and every tail in place, so indentation starts clean."""
    for element in root.iter():
        element.tail = None
        if element.text is not None and not element.text.strip():
            element.text = None
    return root


def indent(element, level=0):
    """Indent in place, two spaces per level (whitespace-only text is replaced)."""
    pad = "\n" + "  " * level
    children = list(element)
    if children:
        if not (element.text or "").strip():
            element.text = pad + "  "
        for child in children:
            indent(child, level + 1)
        children[-1].tail = pad
    if level and not (element.tail or "").strip():
        element.tail = pad
    return element


def pretty_xml(source):
    """Readable text of an element or an XML string, the same for every source: the input is
    left untouched, whitespace is normalised, no trailing newline."""
    if source is None:
        return None
    root = ET.fromstring(source) if isinstance(source, str) else copy.deepcopy(source)
    strip_whitespace(root)
    indent(root)
    root.tail = None
    return ET.tostring(root, encoding="unicode")
