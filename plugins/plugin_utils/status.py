# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster status view of playbooks/status.yml: what the hosts hold, next to what the data model declares.

Input, read by the playbook with one lvs.cluster.ipvs_info and one host_facts.py run per director and one
host_facts.py run per real server (read_hosts() takes them from hostvars):
  services      normalised services (lvs.cluster.virtual_services)
  directors     {host: {'ha': 'none'|'keepalived'|'bgp', 'services': ipvs_info services,
                        'facts': host_facts.py output (addresses, units, texts: bird.conf),
                        'held_out': [real server addresses]}}
  real_servers  {host: {'facts': host_facts.py output}}
Output: {'lines': printable table, 'problems': one line per disagreement with the declaration}.
"""

from __future__ import annotations

import json

KEEPALIVED = 'keepalived.service'
BIRD = 'lvs-bird.service'
# The line roles/bgp/templates/bird.conf.j2 writes while bgp_maintenance withdraws every announcement; the
# playbook reads the director's bird.conf (host_facts.py texts), so a director put in maintenance by a limited
# run shows as such whatever the inventory says.
BGP_MAINTENANCE_MARK = '# bgp_maintenance: this director announces nothing'


def _held(facts, devices=None):
    """{address: device} of the addresses on the host (prefix dropped), optionally only on some devices."""
    held = {}
    for device, cidrs in sorted((facts.get('addresses') or {}).items()):
        if devices is None or device in devices:
            for cidr in cidrs:
                held.setdefault(cidr.split('/')[0], device)
    return held


def _service_key(protocol, address, port, fwmark, family):
    return ('fwmark', fwmark, family) if fwmark else (protocol, address, port)


def _target(svc):
    if svc.get('fwmark'):
        return 'fwmark %s%s' % (svc['fwmark'], ' (IPv6)' if svc.get('family') == 'inet6' else '')
    vip = '[%s]' % svc['vip'] if svc.get('family') == 'inet6' else svc['vip']
    return '%s %s:%s' % (svc['protocol'], vip, svc['port'])


def _hostport(address, port):
    return '[%s]:%s' % (address, port) if ':' in address else '%s:%s' % (address, port)


def _directors(services, directors, problems):
    vips = sorted(set(s['vip'] for s in services if s.get('vip')))
    holders = dict((vip, []) for vip in vips)
    lines = ['DIRECTORS', '  %-20s %-11s %-16s %s' % ('director', 'ha', 'state', 'VIPs held')]
    for name in sorted(directors):
        info = directors[name]
        held = _held(info.get('facts') or {})
        mine = [vip for vip in vips if vip in held]
        for vip in mine:
            holders[vip].append(name)
        ha = info.get('ha') or 'none'
        units = (info.get('facts') or {}).get('units') or {}
        if ha == 'bgp':
            # every director serves every VIP (on lo); keepalived checks, lvs-bird announces
            down = ['%s %s' % (u.split('.', maxsplit=1)[0], units.get(u, 'unknown')) for u in (KEEPALIVED, BIRD)
                    if units.get(u, 'unknown') != 'active']
            withdrawn = any(BGP_MAINTENANCE_MARK in (text or '')
                            for text in ((info.get('facts') or {}).get('texts') or {}).values())
            state = ', '.join(down) or ('maintenance' if withdrawn else 'announcing')
            problems.extend('%s: %s' % (name, what) for what in down)
            for vip in vips:
                if vip not in held:
                    problems.append('%s: does not hold VIP %s' % (name, vip))
        elif ha == 'keepalived':
            unit = ((info.get('facts') or {}).get('units') or {}).get(KEEPALIVED, 'unknown')
            if unit != 'active':
                state = 'keepalived ' + unit
            elif not vips:
                state = 'keepalived active'  # nothing to hold (fwmark services without a VIP)
            else:
                state = 'MASTER' if len(mine) == len(vips) else 'BACKUP' if not mine else 'MASTER (some)'
            if unit != 'active':
                problems.append('%s: keepalived is %s' % (name, unit))
        else:
            state = 'standalone'
            for vip in vips:
                if vip not in held:
                    problems.append('%s: does not hold VIP %s' % (name, vip))
        lines.append('  %-20s %-11s %-16s %s' % (name, ha, state,
                                                 ', '.join('%s (%s)' % (vip, held[vip]) for vip in mine) or '-'))
    for vip in vips:
        if not holders[vip]:
            problems.append('VIP %s is held by no director' % vip)
        elif len(holders[vip]) > 1 and any((directors[h].get('ha') or 'none') != 'bgp' for h in holders[vip]):
            problems.append('VIP %s is held by %d directors at once: %s'
                            % (vip, len(holders[vip]), ', '.join(holders[vip])))
    return lines


def _live_services(info):
    return dict((_service_key(s['protocol'], s['address'], s['port'], s['fwmark'], s['family']), s)
                for s in info.get('services') or [])


def _dest_state(declared, dest, held_out, keepalived, inhibit):
    if dest is None:
        return 'out: health check failed' if keepalived else 'missing', True
    if dest['weight'] == 0 and declared['address'] in held_out:
        return 'drained', False
    if dest['weight'] == 0 and keepalived and inhibit and declared['weight'] > 0:
        return 'failed (weight 0)', True
    if dest['weight'] != declared['weight']:
        return 'weight %d, declared %d' % (dest['weight'], declared['weight']), True
    return 'ok', False


ROW = '    %-30s %-20s %6s %7s %8s %6s  %s'


def _row(label, director, dest, state):
    """One real server line of a service; '-' for the numbers of one that is not in the table."""
    if dest is None:
        return ROW % (label, director, '-', '-', '-', '-', state)
    return ROW % (label, director, dest['weight'], dest['active_connections'], dest['inactive_connections'],
                  dest['stats'].get('cps', 0), state)


def _services(services, directors, problems):
    live = dict((name, _live_services(info)) for name, info in directors.items())
    lines = ['SERVICES']
    declared_keys = set()
    for svc in services:
        key = _service_key(svc['protocol'], svc.get('vip'), svc.get('port'), svc.get('fwmark'), svc['family'])
        declared_keys.add(key)
        lines.append('  %s  %s  %s  %s' % (svc['name'], _target(svc), svc['scheduler'], svc['forwarding']))
        lines.append(ROW % ('real server', 'director', 'weight', 'active', 'inactive', 'cps', 'state'))
        seen = {}
        for director in sorted(directors):
            info = directors[director]
            table = live[director].get(key)
            if table is None:
                lines.append('    %-30s %-20s %s' % ('-', director, 'service missing'))
                problems.append('%s: service %s (%s) is not in the table' % (director, svc['name'], _target(svc)))
                continue
            held_out = set(info.get('held_out') or [])
            dests = dict(((d['address'], d['port']), d) for d in table['destinations'])
            seen[director] = sorted((a, p, d['weight']) for (a, p), d in dests.items())
            for rs in svc['real_servers']:
                dest = dests.pop((rs['address'], rs['port']), None)
                checked = info.get('ha') in ('keepalived', 'bgp')  # keepalived's health checks build the table
                state, bad = _dest_state(rs, dest, held_out, checked,
                                         svc.get('inhibit_on_failure') or info.get('ha') == 'bgp')
                label = _hostport(rs['address'], rs['port']) + (' (%s)' % rs['host'] if rs.get('host') else '')
                lines.append(_row(label, director, dest, state))
                if bad:
                    problems.append('%s: %s %s: %s' % (director, svc['name'], label, state))
            sorry = svc.get('sorry_server') or {}
            for (address, port), dest in sorted(dests.items()):
                label = _hostport(address, port)
                if info.get('ha') in ('keepalived', 'bgp') and (address, port) == (sorry.get('address'), sorry.get('port')):
                    lines.append(_row(label, director, dest, 'sorry server (no real server is up)'))
                    continue
                lines.append(_row(label, director, dest, 'not declared'))
                problems.append('%s: %s %s is in the table but not declared' % (director, svc['name'], label))
        if len(set(tuple(v) for v in seen.values())) > 1:
            problems.append('service %s: the directors disagree (%s)' % (svc['name'], '; '.join(
                '%s: %s' % (d, ', '.join('%s w%d' % (_hostport(a, p), w) for a, p, w in v) or 'none')
                for d, v in sorted(seen.items()))))
    for director in sorted(directors):
        for key, svc in sorted(live[director].items(), key=lambda kv: str(kv[0])):
            if key not in declared_keys:
                target = _target(dict(svc, vip=svc['address']))
                problems.append('%s: service %s is in the table but not declared' % (director, target))
    return lines


def _arp_method(facts, vips):
    """How the host keeps quiet in ARP for all of vips: arptables or nftables drop rules, ARP sysctls, or none."""
    sysctl = facts.get('sysctl') or {}
    arptables = set(line.strip() for line in (facts.get('arptables') or '').splitlines())
    nftables = set(line.strip() for line in (facts.get('nftables') or '').splitlines())
    # Per VIP: during a switch between the two rule kinds (kept until the stale items go) each VIP has one.
    kinds = [('arptables' if ('-j DROP -d %s' % vip) in arptables else '')
             or ('nftables' if ('arp daddr ip %s drop' % vip) in nftables else '') for vip in vips]
    if vips and all(kinds):
        return '+'.join(sorted(set(kinds)))
    try:
        if int(sysctl.get('net.ipv4.conf.all.arp_ignore') or 0) >= 1 and \
                int(sysctl.get('net.ipv4.conf.all.arp_announce') or 0) >= 2:
            return 'sysctl'
    except ValueError:
        pass
    return 'none'


def _real_servers(services, real_servers, problems):
    lines = ['REAL SERVERS', '  %-20s %-24s %-34s %s' % ('host', 'serves', 'VIPs held', 'ARP')]
    for name in sorted(real_servers):
        facts = real_servers[name].get('facts') or {}
        served = [(s, rs) for s in services for rs in s['real_servers'] if rs.get('host') == name]
        held = _held(facts, devices=('lo', 'tunl0'))
        want = {}
        for svc, _rs in served:
            if svc['forwarding'] in ('dr', 'tun') and svc.get('vip'):
                want[svc['vip']] = 'lo' if svc['forwarding'] == 'dr' else 'tunl0'
        for vip, device in sorted(want.items()):
            if held.get(vip) != device:
                problems.append('%s: VIP %s is not on %s' % (name, vip, device))
        for vip in sorted(held):
            if vip not in want and not vip.startswith('127.') and vip != '::1':
                problems.append('%s: holds %s on %s, which no service it serves declares' % (name, vip, held[vip]))
        ipv4_hidden = [vip for vip in want if ':' not in vip]
        arp = _arp_method(facts, ipv4_hidden) if ipv4_hidden else '-'
        if arp == 'none':
            problems.append('%s: answers ARP for %s (no ARP sysctls, arptables or nftables rules)' % (
                name, ', '.join(sorted(ipv4_hidden))))
        gateways = sorted(set(s['gateway'] for s, _rs in served if s['forwarding'] == 'nat' and s.get('gateway')))
        for gateway in gateways:
            if gateway not in (facts.get('default_route') or []):
                problems.append('%s: default route is not via the NAT gateway %s' % (name, gateway))
        lines.append('  %-20s %-24s %-34s %s' % (
            name, ', '.join('%s (%s)' % (s['name'], s['forwarding']) for s, _rs in served) or '-',
            ', '.join('%s (%s)' % (vip, held[vip]) for vip in sorted(held) if not vip.startswith('127.') and vip != '::1')
            or '-', arp))
    return lines


def _registered(hostvars, host, name):
    try:
        value = hostvars[host][name]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, dict) and not value.get('failed') and not value.get('skipped') else None


def _facts(hostvars, host):
    got = _registered(hostvars, host, '__status_facts')
    try:
        return json.loads(got['stdout']) if got else None
    except (KeyError, TypeError, ValueError):
        return None


def read_hosts(hostvars, groups, drained_dir):
    """What playbooks/status.yml registered on each host -> (directors, real_servers, hosts not read).
    drained_dir: the directory of held-out real servers on the directors, which host_facts.py listed."""
    directors, real_servers, unread = {}, {}, []
    for host in groups.get('lvs_directors') or []:
        table, facts = _registered(hostvars, host, '__status_table'), _facts(hostvars, host)
        if table is None or facts is None:
            unread.append(host)
            continue
        try:
            ha = hostvars[host]['lvs_director_ha']
        except (KeyError, TypeError):
            ha = 'none'
        directors[host] = {'ha': ha, 'services': table.get('services') or [], 'facts': facts,
                           'held_out': (facts.get('dirs') or {}).get(drained_dir) or []}
    for host in groups.get('lvs_real_servers') or []:
        facts = _facts(hostvars, host)
        if facts is None:
            unread.append(host)
            continue
        real_servers[host] = {'facts': facts}
    return directors, real_servers, unread


def cluster_status(services, directors, real_servers, unread=()):
    problems = ['%s: could not be read (unreachable or failed), so it is left out' % host for host in unread]
    lines = _directors(services, directors, problems)
    lines += _services(services, directors, problems)
    lines += _real_servers(services, real_servers, problems)
    lines.append('PROBLEMS' if problems else 'PROBLEMS: none, the cluster is as declared')
    lines += ['  ' + p for p in problems]
    return {'lines': lines, 'problems': problems}
