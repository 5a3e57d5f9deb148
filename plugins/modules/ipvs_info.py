#!/usr/bin/python
# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ipvs_info
short_description: Read the live IPVS (LVS) table with counters and rates
version_added: 0.1.0
description:
  - Returns every virtual service and real server of the kernel IPVS table as structured data,
    with connection counters, packet/byte statistics and rates.
  - Reads C(ipvsadm -S -n) (configuration), C(ipvsadm -L -n --thresholds) (thresholds and
    active/inactive connections), C(ipvsadm -L -n --exact --stats) and C(ipvsadm -L -n --exact --rate),
    all under C(LC_ALL=C).
author:
  - lvs.cluster contributors (@lvs-cluster)
requirements:
  - ipvsadm on the managed host
  - a kernel with IPVS (C(ip_vs) module)
attributes:
  check_mode:
    support: full
    description:
      - Read-only; runs the same in check mode.
      - In check mode only, a host without ipvsadm (installed by an earlier task of the same run
        when not in check mode) gives an empty table and a warning instead of a failure; so does a host where
        the C(ip_vs) kernel module is not loaded (ipvsadm would load it).
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
  platform:
    support: full
    platforms: linux
    description: Linux with IPVS only.
options: {}
seealso:
  - module: lvs.cluster.ipvs
"""

EXAMPLES = r"""
- name: Read the IPVS table
  lvs.cluster.ipvs_info:
  register: ipvs

- name: Real servers of 192.0.2.100:80 with active connections
  ansible.builtin.debug:
    msg: "{{ item.address }}: {{ item.active_connections }}"
  loop: "{{ (ipvs.services | selectattr('address', 'equalto', '192.0.2.100') | first).destinations }}"
"""

RETURN = r"""
services:
  description: The virtual services, sorted like C(ipvsadm -L).
  returned: always
  type: list
  elements: dict
  contains:
    protocol:
      description: tcp, udp or sctp; null for fwmark services.
      type: str
    address:
      description: Virtual IP (canonical form); null for fwmark services.
      type: str
    port:
      description: Virtual port; null for fwmark services.
      type: int
    fwmark:
      description: Firewall mark, or null.
      type: int
    family:
      description: inet or inet6.
      type: str
    scheduler:
      description: Scheduler name.
      type: str
    scheduler_flags:
      description: Scheduler flags as ipvsadm names them.
      type: list
      elements: str
    persistence:
      description: Persistence timeout in seconds, or null.
      type: int
    persistence_netmask:
      description: Persistence netmask (IPv4 dotted, IPv6 prefix length), or null for the default.
      type: str
    stats:
      description:
        - Counters C(connections), C(packets_in), C(packets_out), C(bytes_in), C(bytes_out) and rates
          C(cps), C(inpps), C(outpps), C(inbps), C(outbps) (integers).
      type: dict
    destinations:
      description: Real servers.
      type: list
      elements: dict
      contains:
        address:
          description: Real server address.
          type: str
        port:
          description: Real server port.
          type: int
        forwarding:
          description: nat, dr or tun.
          type: str
        weight:
          description: Weight.
          type: int
        upper_threshold:
          description: Upper connection threshold, 0 = none.
          type: int
        lower_threshold:
          description: Lower connection threshold, 0 = none.
          type: int
        active_connections:
          description: Active connections.
          type: int
        inactive_connections:
          description: Inactive connections.
          type: int
        stats:
          description: Same keys as the service's stats.
          type: dict
  sample:
    - protocol: tcp
      address: 192.0.2.100
      port: 80
      fwmark: null
      family: inet
      scheduler: wrr
      scheduler_flags: []
      persistence: null
      persistence_netmask: null
      stats: {connections: 12, packets_in: 70, packets_out: 0, bytes_in: 4420, bytes_out: 0,
              cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0}
      destinations:
        - address: 198.51.100.11
          port: 80
          forwarding: dr
          weight: 1
          upper_threshold: 0
          lower_threshold: 0
          active_connections: 1
          inactive_connections: 5
          stats: {connections: 6, packets_in: 35, packets_out: 0, bytes_in: 2210, bytes_out: 0,
                  cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0}
rules:
  description: The table as C(ipvsadm -S -n) text plus C(-x)/C(-y) thresholds when set.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_host import Ipvsadm
from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_info import table_info


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    ipvsadm = Ipvsadm(module)  # fails without ipvsadm, except in check mode
    if not ipvsadm.installed:
        module.warn('ipvsadm is not installed yet, so check mode reports an empty IPVS table '
                    '(a task earlier in this run would install it)')
        module.exit_json(changed=False, services=[], rules='')
    if not ipvsadm.loaded:
        module.warn('the ip_vs kernel module is not loaded, so check mode reports an empty IPVS table '
                    '(ipvsadm is not run: it would load ip_vs)')
        module.exit_json(changed=False, services=[], rules='')
    outputs = dict(
        save=ipvsadm.run(['-S', '-n']),
        thresholds=ipvsadm.run(['-L', '-n', '--thresholds']),
        stats=ipvsadm.run(['-L', '-n', '--exact', '--stats']),
        rate=ipvsadm.run(['-L', '-n', '--exact', '--rate']),
    )
    try:
        services, rules = table_info(**outputs)
    except ValueError as e:
        module.fail_json(msg='cannot parse ipvsadm output: %s' % e)
    module.exit_json(changed=False, services=services, rules=rules)


if __name__ == '__main__':
    main()
