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

One parser per output format, shared by the ipvs and ipvs_info modules:
  ``ipvsadm -S -n``                         parse_save() (live_table() in front of it: see below)
  ``ipvsadm -L -n --thresholds``            parse_thresholds(): real servers
                                            ``Uthreshold Lthreshold ActiveConn InActConn``
  ``ipvsadm -L -n --exact --stats|--rate``  parse_counters(): services and real servers
                                            ``Conns InPkts OutPkts InBytes OutBytes`` (--stats) or
                                            ``CPS InPPS OutPPS InBPS OutBPS`` (--rate)
``-L`` service lines are ``%-4s %s`` (TCP/UDP/SCTP <addr:port>) or ``FWM  <mark>[ IPv6]``, real server
lines ``  -> <addr:port>`` followed by the columns; header lines are skipped. With --exact every
number is printed in full; without it counters may end in K, M, G or T (print_largenum()).

Big tables are read cheaply (``live_table``): every service block of the ``-S`` text that is exactly
(as a multiset of lines) what ``save_lines`` renders for the expected service is taken as that
service without parsing, and its id is returned in the set ``same``; only the other blocks go
through ``parse_save``. This is sound because ``parse_save(save_lines(svc))`` gives back ``svc``
(thresholds aside); a formatting difference only costs a full parse of that block. ``plan()`` and
``differences()`` skip the ids they are given as ``same`` without comparing them again.
"""

from __future__ import annotations

import functools
import ipaddress

from ansible_collections.lvs.cluster.plugins.module_utils.lvs_validate import family_of

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


def _rule_service_id(rule, line):
    """service_id() of a rule without building the service (-a lines only need the id)."""
    if 'fwmark' in rule:
        return '-f %d -6' % rule['fwmark'] if rule.get('inet6') else '-f %d' % rule['fwmark']
    if 'service' not in rule:
        raise IpvsParseError('no virtual service in: %s' % line)
    address, port, family = rule['service']
    return '%s %s' % (PROTO_FLAG[rule['protocol']], hostport(address, port, family))


def parse_save(text):
    """ipvsadm -S -n output -> table. Thresholds are 0 here (see parse_thresholds/set_thresholds)."""
    table = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        rule = _parse_rule(line)
        if rule['cmd'] == '-A':
            svc = _rule_service_key(rule, line)
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
            svc = table.get(_rule_service_id(rule, line))
            if svc is None:
                raise IpvsParseError('real server before its service in: %s' % line)
            if '-r' not in rule:
                raise IpvsParseError('no real server in: %s' % line)
            address, port, family = split_hostport(rule['-r'])
            dest = new_dest(address, port, family, rule.get('forwarding', 'dr'),
                            _int(rule.get('-w', '1'), line), _int(rule.get('-x', '0'), line),
                            _int(rule.get('-y', '0'), line), ' '.join(rule['tunnel']))
            svc['destinations'][hostport(address, port, family)] = dest
        else:
            _rule_service_id(rule, line)  # a line without a service says so first, as it always did
            raise IpvsParseError('unexpected command %r in: %s' % (rule['cmd'], line))
    return table


# ---------------------------------------------------------------- parsing ipvsadm -L -n ...

def _list_service_id(tokens, line):
    """service_id() of a -L service line split into tokens ("TCP  <addr:port> ..." / "FWM  <mark>[ IPv6] ...")."""
    if tokens[0] == 'FWM':
        mark = _int(tokens[1], line)
        return '-f %d -6' % mark if len(tokens) > 2 and tokens[2] == 'IPv6' else '-f %d' % mark
    address, port, family = split_hostport(tokens[1])
    return '%s %s' % (PROTO_FLAG[LIST_PROTO[tokens[0]]], hostport(address, port, family))


def _list_dest_id(text):
    address, port, family = split_hostport(text)
    return hostport(address, port, family)


def parse_thresholds(text, connections=None):
    """-L -n --thresholds -> {(service_id, dest_id): (upper, lower)} of the real servers with a threshold.

    Real servers whose Uthreshold and Lthreshold are both 0 (the usual case) cost one split: only
    the lines with a threshold, and their service line, have their addresses canonicalised.
    ``connections``: a dict to fill, from the same parse, with {(service_id, dest_id): (active,
    inactive)} of every real server (which canonicalises every line); None: not read.
    """
    found = {}
    every = connections is not None
    svc_tokens, sid, seen_service = None, None, False
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) < 2:
            continue
        head = tokens[0]
        if head == '->':
            if not seen_service:
                continue  # the "-> RemoteAddress:Port" header
            if every or len(tokens) < 6 or tokens[2] != '0' or tokens[3] != '0':
                if sid is None:
                    sid = _list_service_id(svc_tokens, line)
                did = _list_dest_id(tokens[1])
                if len(tokens) < 6:
                    raise IpvsParseError('short --thresholds line for %s %s' % (sid, did))
                if tokens[2] != '0' or tokens[3] != '0':
                    found[(sid, did)] = (_int(tokens[2], line), _int(tokens[3], line))
                if every:
                    connections[(sid, did)] = (_int(tokens[4], line), _int(tokens[5], line))
        elif head == 'FWM' or head in LIST_PROTO:
            svc_tokens, sid, seen_service = tokens, None, True
    return found


SUFFIX = {'K': 10 ** 3, 'M': 10 ** 6, 'G': 10 ** 9, 'T': 10 ** 12}  # print_largenum() without --exact


def number(text):
    """A -L counter: digits, or digits and a K/M/G/T suffix (what ipvsadm prints without --exact)."""
    if text[-1:] in SUFFIX and text[:-1].isdigit():
        return int(text[:-1]) * SUFFIX[text[-1]]
    if not text.isdigit():
        raise IpvsParseError('not a counter: %r' % text)
    return int(text)


def parse_counters(text, names):
    """-L -n --exact --stats|--rate -> ({service_id: {name: n}}, {(service_id, dest_id): {name: n}}).

    ``names``: the column names, in the order ipvsadm prints them (five for --stats and --rate).
    """
    svcs, dests = {}, {}
    width = len(names)
    sid = None
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) < 2:
            continue
        head = tokens[0]
        if head == '->':
            if sid is None:
                continue  # the "-> RemoteAddress:Port" header
            did = _list_dest_id(tokens[1])
            if len(tokens) < width + 2:
                raise IpvsParseError('short line for %s -r %s' % (sid, did))
            dests[(sid, did)] = dict(zip(names, map(number, tokens[2:])))
        elif head == 'FWM' or head in LIST_PROTO:
            sid = _list_service_id(tokens, line)
            cols = tokens[3:] if head == 'FWM' and len(tokens) > 2 and tokens[2] == 'IPv6' else tokens[2:]
            if len(cols) < width:
                raise IpvsParseError('short line for %s' % sid)
            svcs[sid] = dict(zip(names, map(number, cols)))
    return svcs, dests


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


def dest_lines(cmd, sid, items, saved=False):
    """-a/-e lines of service `sid` for (dest_id, dest) items, in their order: the one place that
    writes the real-server line format.

    saved: the lines as `ipvsadm -S -n` prints them (see save_lines()): without -x/-y, which -S
    leaves out, and with the (default) ``--tun-type ipip`` it prints for tun real servers.
    """
    lines = []
    head = cmd + ' ' + sid + ' -r '
    for did, dest in items:
        line = '%s%s %s -w %d' % (head, did, FWD_FLAG[dest['forwarding']], dest['weight'])
        tunnel = dest['tunnel']
        if saved:
            if dest['forwarding'] == 'tun' and not tunnel.startswith('--tun-type'):
                line += ' --tun-type ipip'  # parse_save() drops it again
        else:
            # -x/-y default to 0 for both -a and -e, so 0 is left out like -S does.
            if dest['upper_threshold']:
                line += ' -x %d' % dest['upper_threshold']
            if dest['lower_threshold']:
                line += ' -y %d' % dest['lower_threshold']
        if tunnel:
            line += ' ' + tunnel
        lines.append(line)
    return lines


def dest_line(cmd, sid, dest, weight=None, did=None):
    """One dest_lines() line. weight: instead of the dest's; did: dest_id(dest) when the caller has it
    already (the key of the destinations dict)."""
    if weight is not None:
        dest = dict(dest, weight=weight)
    return dest_lines(cmd, sid, ((dest_id(dest) if did is None else did, dest),))[0]


@functools.lru_cache(maxsize=4096)
def addr_sort_key(address):
    return ipaddress.ip_address(address).packed


def service_sort_key(svc):
    if svc['fwmark'] is not None:
        return (1, svc['family'], b'', svc['fwmark'], '')
    return (0, svc['family'], addr_sort_key(svc['address']), svc['port'], svc['protocol'])


def _dest_item_sort_key(item):
    return addr_sort_key(item[1]['address']), item[1]['port']


def render(table):
    """Table -> ipvsadm -S -n style text (plus -x/-y, which -S omits), sorted like ipvsadm."""
    lines = []
    for svc in sorted(table.values(), key=service_sort_key):
        lines.append(service_line('-A', svc))
        lines.extend(dest_lines('-a', svc['id'], sorted(svc['destinations'].items(), key=_dest_item_sort_key)))
    lines.append('')
    return '\n'.join(lines) if len(lines) > 1 else ''


# ---------------------------------------------------------------- reading a live table cheaply

def save_lines(svc):
    """The lines `ipvsadm -S -n` prints for this service, in no particular order.

    parse_save() of them gives ``svc`` back, except thresholds, which -S does not print.
    """
    lines = [service_line('-A', svc)]
    lines += dest_lines('-a', svc['id'], svc['destinations'].items(), saved=True)
    return lines


def _block_key(line):
    """'-a -t 192.0.2.1:80 -r ...' -> '-t 192.0.2.1:80', '-A -f 1 -6 -s rr' -> '-f 1 -6' (else None)."""
    parts = line.split(' ', 4)
    if len(parts) < 3:
        return None
    if parts[1] == '-f' and len(parts) > 3 and parts[3] == '-6':
        return '-f %s -6' % parts[2]
    return '%s %s' % (parts[1], parts[2])


def _same_lines(lines, wanted):
    """Do both hold the same lines, in any order (as multisets)? Compared as they are first: ipvsadm lists
    real servers in address order, which is often the order they were declared in."""
    return lines == wanted or sorted(lines) == sorted(wanted)


def live_table(text, expected=None):
    """ipvsadm -S -n output -> (table, same): the table as parse_save() gives it, cheaply when it is
    what was expected.

    The lines are grouped by the service they name. A group that is exactly save_lines() of
    ``expected[that id]`` (compared as a multiset, so the order ipvsadm prints does not matter) is
    taken as that service, unparsed, and its id is in ``same``: ``table[id]`` is then
    ``expected[id]`` itself, shared, so it must not be modified in place (set_thresholds() copies
    it when the thresholds differ). The other groups are parsed with parse_save(), and if that fails
    or names a service twice the whole text is parsed as before (``same`` is then empty).
    """
    expected = expected or {}
    blocks = {}
    block, prefix = None, None  # ipvsadm prints a service's -a lines right after its -A line: they start with prefix
    for line in text.splitlines():
        line = line.strip()
        if prefix is not None and line.startswith(prefix):  # what _block_key() would give: the same block
            block.append(line)
            continue
        if not line or line[0] == '#':
            continue
        key = _block_key(line)
        block = blocks.get(key)
        if block is None:
            blocks[key] = block = []
        block.append(line)
        prefix = '-a %s -r ' % key if key is not None and line.startswith('-A ') else None
    table, same, rest = {}, set(), []
    for key, lines in blocks.items():
        want = expected.get(key)
        if want is not None and len(lines) == len(want['destinations']) + 1 and \
                _same_lines(lines, save_lines(want)):
            table[key] = want
            same.add(key)
        else:
            rest.extend(lines)
    if rest:
        try:
            parsed = parse_save('\n'.join(rest))
        except IpvsParseError:
            parsed = None
        if parsed is None or any(sid in table for sid in parsed):
            return parse_save(text), set()  # raises the error the text has, in the order it has them
        table.update(parsed)
    return table, same


def set_thresholds(table, thresholds, same=frozenset()):
    """Set every real server's thresholds from parse_thresholds() output (absent: 0).

    ``same``: the ids live_table() took unparsed from the expected table (shared with it). Such a
    service is replaced by a copy when its thresholds differ, so the expected table is never
    changed. Returns the ids of ``same`` whose thresholds are also the expected ones: the services
    still known to be equal to the expected ones.
    """
    with_thresholds = set(sid for sid, _did in thresholds)
    differ = set()
    for sid, svc in list(table.items()):
        if sid in same:
            if sid not in with_thresholds and not any(
                    d['upper_threshold'] or d['lower_threshold'] for d in svc['destinations'].values()):
                continue
            if all((d['upper_threshold'], d['lower_threshold']) == thresholds.get((sid, did), (0, 0))
                   for did, d in svc['destinations'].items()):
                continue
            differ.add(sid)
            svc = dict(svc, scheduler_flags=list(svc['scheduler_flags']),
                       destinations=dict((did, dict(d)) for did, d in svc['destinations'].items()))
            table[sid] = svc
        for did, dest in svc['destinations'].items():
            dest['upper_threshold'], dest['lower_threshold'] = thresholds.get((sid, did), (0, 0))
    return same - differ if differ else same


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
        self.thresholds_changed = False  # does any -a/-e line set thresholds other than the live ones?

    @property
    def commands(self):
        return self.first + self.last


def _sets_thresholds(have_dests, items):
    """Does an -a/-e line of these (dest_id, dest) items set thresholds other than the live ones
    (``have_dests``; none for a real server being added)?"""
    for did, dest in items:
        old = have_dests.get(did)
        if (dest['upper_threshold'], dest['lower_threshold']) != \
                ((0, 0) if old is None else (old['upper_threshold'], old['lower_threshold'])):
            return True
    return False


def plan(current, desired, absent=(), purge=False, drain=False, same=frozenset()):
    """current/desired: tables; absent: service ids to delete; purge: delete unlisted services.

    same: ids of services known to be equal in ``current`` and ``desired`` (what live_table() and
    set_thresholds() matched when ``desired`` was the expected table); they are not compared again.
    """
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
        if sid in same:  # live_table() matched it line for line, and its thresholds
            continue
        have = current.get(sid)
        if have is None:
            svc_adds.append(service_line('-A', want))
            have_dests, adds, edits = {}, list(want['destinations'].items()), []
        else:
            if service_attrs(have) != service_attrs(want):
                svc_edits.append(service_line('-E', want))
            have_dests = have['destinations']
            for did, dest in sorted(have_dests.items()):
                if did not in want['destinations']:
                    leave_dest(sid, did, dest)
            adds, edits = [], []
            for did, dest in want['destinations'].items():
                old = have_dests.get(did)
                if old is None:
                    adds.append((did, dest))
                elif dest_attrs(old) != dest_attrs(dest):
                    edits.append((did, dest))
            dest_edits += dest_lines('-e', sid, edits)
        dest_adds += dest_lines('-a', sid, adds)
        if not p.thresholds_changed:
            p.thresholds_changed = _sets_thresholds(have_dests, adds) or _sets_thresholds(have_dests, edits)

    if drain:
        p.first = drain_dests + drain_svcs + svc_edits + svc_adds + dest_edits + dest_adds
        p.last = dest_deletes + svc_deletes
    else:
        p.first = dest_deletes + svc_deletes + svc_edits + svc_adds + dest_edits + dest_adds

    p.after = dict((sid, svc) for sid, svc in current.items() if sid not in removed)
    p.after.update(desired)
    return p


def weights_only(current, desired, addresses):
    """The live table with one change: the real servers at ``addresses`` get, in the services where the live table
    already has them and ``desired`` declares them, the weight ``desired`` gives them. Nothing is added, removed
    or otherwise changed (rolling maintenance edits one server's weight, not the rest of a table)."""
    table = {}
    for sid, have in current.items():
        want = desired.get(sid)
        svc = dict(have, destinations=dict(have['destinations']))
        for did, dest in have['destinations'].items():
            wanted = want['destinations'].get(did) if want is not None else None
            if dest['address'] in addresses and wanted is not None and wanted['weight'] != dest['weight']:
                svc['destinations'][did] = dict(dest, weight=wanted['weight'])
        table[sid] = svc
    return table


def differences(want, have, limit=10, same=frozenset()):
    """Human-readable list of how table `have` differs from table `want` (for error messages).

    same: ids known to be equal in both (see plan()); they are not compared again.
    """
    out = []
    for sid in sorted(set(want) | set(have)):
        if sid in same:
            continue
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
