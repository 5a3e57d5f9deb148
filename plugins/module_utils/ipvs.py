# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canonical IPVS table model: parse ipvsadm output, render ipvsadm -R lines, diff two tables.

A table is a dict ``{service_id: service}``. ``service_id`` is the exact virtual-service
selector ipvsadm prints in ``-S`` output and accepts back in ``-R`` lines, e.g.
``-t 192.0.2.100:80``, ``-u [2001:db8::1]:53``, ``--sctp-service 192.0.2.1:9``, ``-f 1``,
``-f 1 -6``. Addresses are canonical (``ipaddress`` compressed form), so equal services have
equal ids whether they came from the kernel or from user input.

Formats are those of ipvsadm 1.31 (Debian bookworm 1:1.31-1): ``print_service_entry()`` in
ipvsadm.c prints, for ``-S``:
  ``-A <svc> -s <sched>[ -p <timeout>[ -M <mask>]][ --pe <pe>][ -o][ -b <flag>,<flag>]``
  ``-a <svc> -r <addr>:<port> -g|-i|-m -w <weight>[ --tun-type ipip|gue|gre ...]``
where <svc> is ``-t|-u|--sctp-service <addr>:<port>`` or ``-f <mark>[ -6]``, IPv6 addresses are
bracketed (``[%s]:%u``), an IPv4 ``-M`` is a dotted mask and an IPv6 one a prefix length, and
the default mask (255.255.255.255 / 128) is not printed. ``-S`` does NOT print the -x/-y
thresholds, so they are read from ``-L -n --thresholds``.
"""

from __future__ import annotations

import functools
import ipaddress

SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos')
PROTOCOLS = ('tcp', 'udp', 'sctp')
FORWARDING = ('nat', 'dr', 'tun')
MAX_PERSISTENCE = 86400 * 31  # ipvsadm.c MAX_TIMEOUT (31 days)

PROTO_FLAG = {'tcp': '-t', 'udp': '-u', 'sctp': '--sctp-service'}
FLAG_PROTO = dict((v, k) for k, v in PROTO_FLAG.items())
LIST_PROTO = {'TCP': 'tcp', 'UDP': 'udp', 'SCTP': 'sctp'}  # -L prints "%-4s %s"
FWD_FLAG = {'nat': '-m', 'dr': '-g', 'tun': '-i'}
FLAG_FWD = {'-m': 'nat', '-g': 'dr', '-i': 'tun'}
LIST_FWD = {'Masq': 'nat', 'Route': 'dr', 'Local': 'dr', 'Tunnel': 'tun'}  # fwd_name(); Local prints -g

# Scheduler flags are three bits; ipvsadm names bit 1/2 after the scheduler (parse_sched_flags()
# rejects sh-* unless -s sh and mh-* unless -s mh) and prints them in bit order.
FLAG_BITS = {'flag-1': 1, 'flag-2': 2, 'flag-3': 3,
             'sh-fallback': 1, 'sh-port': 2, 'mh-fallback': 1, 'mh-port': 2}
SCHEDULER_FLAGS = tuple(FLAG_BITS)


class IpvsParseError(ValueError):
    """ipvsadm printed something this module does not understand."""


def flag_name(scheduler, bit):
    if scheduler in ('sh', 'mh') and bit in (1, 2):
        return '%s-%s' % (scheduler, 'fallback' if bit == 1 else 'port')
    return 'flag-%d' % bit


def canonical_flags(scheduler, names):
    """Flag names -> the list ipvsadm -S would print for this scheduler (bit order, no repeats)."""
    bits = sorted(set(FLAG_BITS[n] for n in names))
    return [flag_name(scheduler, b) for b in bits]


def family_of(address):
    return 'inet6' if address.version == 6 else 'inet'


def hostport(address, port, family):
    return ('[%s]:%d' if family == 'inet6' else '%s:%d') % (address, port)


def split_hostport(text):
    """'192.0.2.1:80' / '[2001:db8::1]:80' -> (canonical address, port, family)."""
    if text.startswith('['):
        host, sep, port = text[1:].partition(']:')
    else:
        host, sep, port = text.rpartition(':')
    if not sep or not port.isdigit():
        raise IpvsParseError('not an address:port: %r' % text)
    address, family = canonical_address(host)
    return address, int(port), family


@functools.lru_cache(maxsize=4096)
def canonical_address(host):
    """'2001:DB8:0::1' -> ('2001:db8::1', 'inet6'). Cached: big tables repeat the same few addresses."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise IpvsParseError('not an IP address: %r' % host)
    return addr.compressed, family_of(addr)


def service_id(svc):
    if svc['fwmark'] is not None:
        return '-f %d -6' % svc['fwmark'] if svc['family'] == 'inet6' else '-f %d' % svc['fwmark']
    return '%s %s' % (PROTO_FLAG[svc['protocol']], hostport(svc['address'], svc['port'], svc['family']))


def dest_id(dest):
    return hostport(dest['address'], dest['port'], dest['family'])


def new_service(protocol=None, address=None, port=None, fwmark=None, family='inet'):
    svc = {
        'protocol': protocol, 'address': address, 'port': port, 'fwmark': fwmark, 'family': family,
        'scheduler': 'wlc', 'scheduler_flags': [], 'persistence': None, 'persistence_netmask': None,
        'one_packet': False, 'pe': None, 'destinations': {},
    }
    svc['id'] = service_id(svc)
    return svc


def new_dest(address, port, family, forwarding='dr', weight=1, upper=0, lower=0, tunnel=''):
    return {'address': address, 'port': port, 'family': family, 'forwarding': forwarding,
            'weight': weight, 'upper_threshold': upper, 'lower_threshold': lower, 'tunnel': tunnel}


def service_attrs(svc):
    """What -E can change in place."""
    return (svc['scheduler'], tuple(svc['scheduler_flags']), svc['persistence'],
            svc['persistence_netmask'], svc['one_packet'], svc['pe'])


def dest_attrs(dest):
    """What -e can change in place (address and port are the identity)."""
    return (dest['forwarding'], dest['weight'], dest['upper_threshold'], dest['lower_threshold'],
            dest['tunnel'])


# ---------------------------------------------------------------- parsing ipvsadm -S -n

def _take(tokens, i, line):
    if i + 1 >= len(tokens):
        raise IpvsParseError('option %s without value in: %s' % (tokens[i], line))
    return tokens[i + 1]


def _int(text, line):
    if not text.isdigit():
        raise IpvsParseError('not a number: %r in: %s' % (text, line))
    return int(text)


def _parse_rule(line):
    """One -S line -> dict of its options."""
    tokens = line.split()
    if tokens and tokens[0] == 'ipvsadm':  # -R accepts an optional leading "ipvsadm"
        tokens = tokens[1:]
    rule = {'cmd': tokens[0], 'tunnel': []}
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        if tok in FLAG_PROTO:
            rule['protocol'] = FLAG_PROTO[tok]
            rule['service'] = split_hostport(_take(tokens, i, line))
            i += 1
        elif tok == '-f':
            rule['fwmark'] = _int(_take(tokens, i, line), line)
            i += 1
        elif tok == '-6':
            rule['inet6'] = True
        elif tok in ('-s', '-p', '-M', '--pe', '-b', '-r', '-w', '-x', '-y'):
            rule[tok] = _take(tokens, i, line)
            i += 1
        elif tok == '-o':
            rule['-o'] = True
        elif tok in FLAG_FWD:
            rule['forwarding'] = FLAG_FWD[tok]
        elif tok in ('--tun-type', '--tun-port'):
            value = _take(tokens, i, line)
            if not (tok == '--tun-type' and value == 'ipip'):  # ipip is the default
                rule['tunnel'] += [tok, value]
            i += 1
        elif tok in ('--tun-nocsum', '--tun-csum', '--tun-remcsum'):
            rule['tunnel'].append(tok)
        else:
            raise IpvsParseError('unexpected %r in: %s' % (tok, line))
        i += 1
    return rule


def _rule_service_key(rule, line):
    if 'fwmark' in rule:
        return new_service(fwmark=rule['fwmark'], family='inet6' if rule.get('inet6') else 'inet')
    if 'service' not in rule:
        raise IpvsParseError('no virtual service in: %s' % line)
    address, port, family = rule['service']
    return new_service(rule['protocol'], address, port, None, family)


def parse_save(text):
    """ipvsadm -S -n output -> table. Thresholds are 0 here (see merge_thresholds)."""
    table = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        rule = _parse_rule(line)
        svc = _rule_service_key(rule, line)
        if rule['cmd'] == '-A':
            svc['scheduler'] = rule.get('-s', 'wlc')
            if '-p' in rule:
                svc['persistence'] = _int(rule['-p'], line)
                svc['persistence_netmask'] = rule.get('-M')
            if '-b' in rule:
                svc['scheduler_flags'] = canonical_flags(svc['scheduler'], rule['-b'].split(','))
            svc['one_packet'] = bool(rule.get('-o'))
            svc['pe'] = rule.get('--pe')
            table[svc['id']] = svc
        elif rule['cmd'] == '-a':
            if svc['id'] not in table:
                raise IpvsParseError('real server before its service in: %s' % line)
            if '-r' not in rule:
                raise IpvsParseError('no real server in: %s' % line)
            address, port, family = split_hostport(rule['-r'])
            dest = new_dest(address, port, family, rule.get('forwarding', 'dr'),
                            _int(rule.get('-w', '1'), line), _int(rule.get('-x', '0'), line),
                            _int(rule.get('-y', '0'), line), ' '.join(rule['tunnel']))
            table[svc['id']]['destinations'][dest_id(dest)] = dest
        else:
            raise IpvsParseError('unexpected command %r in: %s' % (rule['cmd'], line))
    return table


# ---------------------------------------------------------------- parsing ipvsadm -L -n ...

def parse_list(text):
    """ipvsadm -L -n [--exact] [--stats|--rate|--thresholds] -> [(service_id, [cols], [(dest_id, [cols])])].

    Service lines are "%-4s %s" (TCP/UDP/SCTP <addr:port>) or "FWM  <mark>[ IPv6]", real server
    lines "  -> <addr:port>" followed by the columns; header lines are skipped.
    """
    services = []
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) < 2:
            continue
        if tokens[0] == '->':
            if not services:
                continue  # the "-> RemoteAddress:Port" header
            address, port, family = split_hostport(tokens[1])
            services[-1][2].append((hostport(address, port, family), tokens[2:]))
        elif tokens[0] == 'FWM':
            inet6 = len(tokens) > 2 and tokens[2] == 'IPv6'
            svc = new_service(fwmark=_int(tokens[1], line), family='inet6' if inet6 else 'inet')
            services.append((svc['id'], tokens[3 if inet6 else 2:], []))
        elif tokens[0] in LIST_PROTO:
            address, port, family = split_hostport(tokens[1])
            svc = new_service(LIST_PROTO[tokens[0]], address, port, None, family)
            services.append((svc['id'], tokens[2:], []))
    return services


def merge_thresholds(table, thresholds_text):
    """Fill upper/lower thresholds from -L -n --thresholds; returns {(svc_id, dest_id): active conns}."""
    active = {}
    for sid, _cols, dests in parse_list(thresholds_text):
        for did, cols in dests:
            if len(cols) < 4:
                raise IpvsParseError('short --thresholds line for %s %s' % (sid, did))
            dest = table.get(sid, {}).get('destinations', {}).get(did)
            if dest is not None:
                dest['upper_threshold'], dest['lower_threshold'] = int(cols[0]), int(cols[1])
            active[(sid, did)] = int(cols[2])
    return active


# ---------------------------------------------------------------- rendering -R lines

def service_line(cmd, svc):
    parts = ['%s %s -s %s' % (cmd, svc['id'], svc['scheduler'])]
    if svc['persistence'] is not None:
        parts.append('-p %d' % svc['persistence'])
        if svc['persistence_netmask'] is not None:
            parts.append('-M %s' % svc['persistence_netmask'])
    if svc['pe']:
        parts.append('--pe %s' % svc['pe'])
    if svc['one_packet']:
        parts.append('-o')
    if svc['scheduler_flags']:
        parts.append('-b %s' % ','.join(svc['scheduler_flags']))
    return ' '.join(parts)


def dest_line(cmd, sid, dest, weight=None):
    parts = ['%s %s -r %s %s -w %d' % (cmd, sid, dest_id(dest), FWD_FLAG[dest['forwarding']],
                                       dest['weight'] if weight is None else weight)]
    # -x/-y default to 0 for both -a and -e, so 0 is left out like -S does.
    if dest['upper_threshold']:
        parts.append('-x %d' % dest['upper_threshold'])
    if dest['lower_threshold']:
        parts.append('-y %d' % dest['lower_threshold'])
    if dest['tunnel']:
        parts.append(dest['tunnel'])
    return ' '.join(parts)


@functools.lru_cache(maxsize=4096)
def addr_sort_key(address):
    return ipaddress.ip_address(address).packed


def service_sort_key(svc):
    if svc['fwmark'] is not None:
        return (1, svc['family'], b'', svc['fwmark'], '')
    return (0, svc['family'], addr_sort_key(svc['address']), svc['port'], svc['protocol'])


def render(table):
    """Table -> ipvsadm -S -n style text (plus -x/-y, which -S omits), sorted like ipvsadm."""
    lines = []
    for svc in sorted(table.values(), key=service_sort_key):
        lines.append(service_line('-A', svc))
        for dest in sorted(svc['destinations'].values(), key=lambda d: (addr_sort_key(d['address']), d['port'])):
            lines.append(dest_line('-a', svc['id'], dest))
    return ''.join(line + '\n' for line in lines)


# ---------------------------------------------------------------- diff

class Plan(object):
    """The -R lines that turn one table into another.

    Without draining everything runs in one -R batch: ``first`` holds destination deletes,
    service deletes/edits/adds and destination edits/adds in that order, ``last`` is empty.
    With draining, ``first`` sets the leaving destinations to weight 0 and does all edits/adds,
    and ``last`` (run once they are idle) deletes them and the removed services.
    """

    def __init__(self):
        self.first = []
        self.last = []
        self.draining = []  # (service_id, dest_id) waited on before `last`
        self.after = {}

    @property
    def commands(self):
        return self.first + self.last


def plan(current, desired, absent=(), purge=False, drain=False):
    """current/desired: tables; absent: service ids to delete; purge: delete unlisted services."""
    p = Plan()
    dest_deletes, svc_deletes, svc_edits, svc_adds, dest_edits, dest_adds = [], [], [], [], [], []
    drain_dests, drain_svcs = [], []  # weight-0 edits, in the order of the deletes they precede

    def drain_one(sid, did, dest, into):
        p.draining.append((sid, did))
        if dest['weight'] != 0:
            into.append(dest_line('-e', sid, dest, weight=0))

    def leave_dest(sid, did, dest):
        if drain:
            drain_one(sid, did, dest, drain_dests)
        dest_deletes.append('-d %s -r %s' % (sid, did))

    def leave_service(sid):
        if drain:
            for did, dest in sorted(current[sid]['destinations'].items()):
                drain_one(sid, did, dest, drain_svcs)
        svc_deletes.append('-D %s' % sid)

    removed = set(sid for sid in absent if sid in current)
    if purge:
        removed.update(sid for sid in current if sid not in desired)
    for sid in sorted(removed, key=lambda s: service_sort_key(current[s])):
        leave_service(sid)

    for sid, want in desired.items():
        have = current.get(sid)
        if have is None:
            svc_adds.append(service_line('-A', want))
            dest_adds.extend(dest_line('-a', sid, d) for d in want['destinations'].values())
            continue
        if service_attrs(have) != service_attrs(want):
            svc_edits.append(service_line('-E', want))
        for did, dest in sorted(have['destinations'].items()):
            if did not in want['destinations']:
                leave_dest(sid, did, dest)
        for did, dest in want['destinations'].items():
            old = have['destinations'].get(did)
            if old is None:
                dest_adds.append(dest_line('-a', sid, dest))
            elif dest_attrs(old) != dest_attrs(dest):
                dest_edits.append(dest_line('-e', sid, dest))

    if drain:
        p.first = drain_dests + drain_svcs + svc_edits + svc_adds + dest_edits + dest_adds
        p.last = dest_deletes + svc_deletes
    else:
        p.first = dest_deletes + svc_deletes + svc_edits + svc_adds + dest_edits + dest_adds

    p.after = dict((sid, svc) for sid, svc in current.items() if sid not in removed)
    p.after.update(desired)
    return p


def differences(want, have, limit=10):
    """Human-readable list of how table `have` differs from table `want` (for error messages)."""
    out = []
    for sid in sorted(set(want) | set(have)):
        if sid not in have:
            out.append('%s: missing' % sid)
        elif sid not in want:
            out.append('%s: unexpected' % sid)
        else:
            if service_attrs(want[sid]) != service_attrs(have[sid]):
                out.append('%s: is "%s", wanted "%s"' % (sid, service_line('-A', have[sid]),
                                                         service_line('-A', want[sid])))
            wd, hd = want[sid]['destinations'], have[sid]['destinations']
            for did in sorted(set(wd) | set(hd)):
                if did not in hd:
                    out.append('%s -r %s: missing' % (sid, did))
                elif did not in wd:
                    out.append('%s -r %s: unexpected' % (sid, did))
                elif dest_attrs(wd[did]) != dest_attrs(hd[did]):
                    out.append('%s -r %s: is "%s", wanted "%s"' % (
                        sid, did, dest_line('-a', sid, hd[did]), dest_line('-a', sid, wd[did])))
        if len(out) >= limit:
            break
    return out[:limit]
