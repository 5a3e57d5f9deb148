# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pick the interface that should hold each VIP on a director."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.plugin_utils.facts import interface_addresses


def vip_interfaces(vips, facts, interface='', var_name='director_vip_interface'):
    """Return {vip: interface}: the interface whose subnet holds the VIP, else INTERFACE, else the default route's.

    A VIP is announced where its subnet lives, so a director with an outside and an inside network (NAT)
    puts it on the outside one without being told. Host routes (/32, /128: the VIPs themselves) never count.
    """
    names = [n for n in facts.get('interfaces') or [] if n != 'lo']
    fallback = interface or (facts.get('default_ipv4') or {}).get('interface') or ''
    placed = {}
    for vip in vips:
        address = ipaddress.ip_address(vip)
        found = [n for n in names
                 if any(address in net and net.num_addresses > 1 for _own, net in interface_addresses(facts, n))]
        chosen = interface or (found[0] if found else fallback)
        if not chosen:
            raise AnsibleFilterError(
                '%s: no interface of this host is on the subnet of %s and there is no '
                'default route; set %s' % (var_name, vip, var_name))
        placed[vip] = chosen
    return placed


class FilterModule:
    def filters(self):
        return {'vip_interfaces': vip_interfaces}
