# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Addresses a host has, read from its gathered facts (setup's network subset)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping


def interface_addresses(facts, name):
    """(address, network) of every address configured on interface NAME; IPv6 zone ids are dropped."""
    iface = facts.get(name.replace('-', '_').replace(':', '_')) or facts.get(name) or {}
    if not isinstance(iface, Mapping):
        return
    ipv4 = [iface.get('ipv4')] if isinstance(iface.get('ipv4'), Mapping) else list(iface.get('ipv4') or [])
    for entry in ipv4 + list(iface.get('ipv4_secondaries') or []):
        if isinstance(entry, Mapping) and entry.get('address') and entry.get('netmask'):
            yield entry['address'], ipaddress.ip_network('%s/%s' % (entry['address'], entry['netmask']), strict=False)
    for entry in iface.get('ipv6') or []:
        if isinstance(entry, Mapping) and entry.get('address') and entry.get('prefix'):
            address = entry['address'].split('%')[0]
            yield address, ipaddress.ip_network('%s/%s' % (address, entry['prefix']), strict=False)
