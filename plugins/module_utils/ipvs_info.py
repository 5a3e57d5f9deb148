# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Combine ipvsadm -S and -L listings into the structured result of lvs.cluster.ipvs_info.

Each listing is parsed by the one parser of its format in module_utils/ipvs.py (the ipvs module
uses the same ones): parse_save() for ``-S -n``, parse_thresholds() for ``-L -n --thresholds``
(thresholds and, from the same parse, active/inactive connections) and parse_counters() for
``-L -n --exact --stats`` and ``--rate``.
"""

from __future__ import annotations

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import (
    addr_sort_key, parse_counters, parse_save, parse_thresholds, render, service_sort_key, set_thresholds,
)

STATS = ('connections', 'packets_in', 'packets_out', 'bytes_in', 'bytes_out')
RATES = ('cps', 'inpps', 'outpps', 'inbps', 'outbps')


def table_info(save, thresholds, stats, rate):
    """The four listings' text -> (services as the module returns them, rules text)."""
    table = parse_save(save)
    conns = {}
    set_thresholds(table, parse_thresholds(thresholds, conns))
    svc_stats, dest_stats = parse_counters(stats, STATS)
    svc_rate, dest_rate = parse_counters(rate, RATES)
    zero = dict((k, 0) for k in STATS + RATES)

    services = []
    for svc in sorted(table.values(), key=service_sort_key):
        sid = svc['id']
        item = dict((k, svc[k]) for k in ('protocol', 'address', 'port', 'fwmark', 'family', 'scheduler',
                                          'scheduler_flags', 'persistence', 'persistence_netmask'))
        item['stats'] = dict(zero, **svc_stats.get(sid, {}))
        item['stats'].update(svc_rate.get(sid, {}))
        item['destinations'] = []
        for did, dest in sorted(svc['destinations'].items(),
                                key=lambda kv: (addr_sort_key(kv[1]['address']), kv[1]['port'])):
            d = dict((k, dest[k]) for k in ('address', 'port', 'forwarding', 'weight',
                                            'upper_threshold', 'lower_threshold'))
            d['active_connections'], d['inactive_connections'] = conns.get((sid, did), (0, 0))
            d['stats'] = dict(zero, **dest_stats.get((sid, did), {}))
            d['stats'].update(dest_rate.get((sid, did), {}))
            item['destinations'].append(d)
        services.append(item)
    return services, render(table)
