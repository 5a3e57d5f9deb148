# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Combine ipvsadm -S and -L listings into the structured result of lvs.cluster.ipvs_info.

Column layouts (ipvsadm 1.31 print_title()/print_service_entry()):
  --stats:      Conns InPkts OutPkts InBytes OutBytes   (services and real servers)
  --rate:       CPS InPPS OutPPS InBPS OutBPS           (services and real servers)
  --thresholds: real servers: Uthreshold Lthreshold ActiveConn InActConn
With --exact every number is printed in full and preceded by at least one space.
"""

from __future__ import annotations

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import (
    IpvsParseError, addr_sort_key, merge_thresholds, parse_list, parse_save, render, service_sort_key,
)

STATS = ('connections', 'packets_in', 'packets_out', 'bytes_in', 'bytes_out')
RATES = ('cps', 'inpps', 'outpps', 'inbps', 'outbps')
SUFFIX = {'K': 10 ** 3, 'M': 10 ** 6, 'G': 10 ** 9, 'T': 10 ** 12}  # print_largenum() without --exact


def number(text):
    if text[-1:] in SUFFIX and text[:-1].isdigit():
        return int(text[:-1]) * SUFFIX[text[-1]]
    if not text.isdigit():
        raise IpvsParseError('not a counter: %r' % text)
    return int(text)


def _columns(text, names):
    """Listing -> {service_id: {...}} and {(service_id, dest_id): {...}} of the named columns."""
    svcs, dests = {}, {}
    for sid, cols, dlist in parse_list(text):
        if len(cols) < len(names):
            raise IpvsParseError('short line for %s' % sid)
        svcs[sid] = dict(zip(names, (number(c) for c in cols)))
        for did, dcols in dlist:
            if len(dcols) < len(names):
                raise IpvsParseError('short line for %s -r %s' % (sid, did))
            dests[(sid, did)] = dict(zip(names, (number(c) for c in dcols)))
    return svcs, dests


def _conns(text):
    out = {}
    for sid, _cols, dlist in parse_list(text):
        for did, cols in dlist:
            if len(cols) < 4:
                raise IpvsParseError('short --thresholds line for %s -r %s' % (sid, did))
            out[(sid, did)] = (number(cols[2]), number(cols[3]))
    return out


def table_info(save, thresholds, stats, rate):
    table = parse_save(save)
    merge_thresholds(table, thresholds)
    conns = _conns(thresholds)
    svc_stats, dest_stats = _columns(stats, STATS)
    svc_rate, dest_rate = _columns(rate, RATES)
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
