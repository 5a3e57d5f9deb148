# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print, as one JSON document, the network and LVS state of a host: read by playbooks/status.yml
(lvs.cluster.status) and by the lab's host-state tests.

One script run per host instead of one command per fact (each costs seconds on a slow host). Read-only.
  host_facts.py [JSON]   JSON: {"sysctl": [names], "units": [names], "files": [paths], "texts": [paths],
                         "dirs": [paths]} to read those too (files: existence and mode; texts: content;
                         dirs: the names in the directory, null when there is none).
"""
import json
import os
import subprocess
import sys

SYSCTLS = ('net.ipv4.ip_forward',
           'net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.lo.arp_ignore',
           'net.ipv4.conf.all.arp_announce', 'net.ipv4.conf.lo.arp_announce',
           'net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.tunl0.rp_filter')


def run(*argv):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return ''
    return done.stdout if done.returncode == 0 else ''


def ip_json(*args):
    out = run('ip', '-j', *args)
    return json.loads(out) if out.strip() else []


def sysctl(name):
    path = '/proc/sys/' + name.replace('.', '/')
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def ipvs_size():
    """The size of IPVS's connection hash table ("IP Virtual Server version 1.2.1 (size=4096)"), or None."""
    first = text('/proc/net/ip_vs')
    head = first.split('\n', 1)[0] if first else ''
    if '(size=' not in head:
        return None
    return int(head.split('(size=', 1)[1].split(')', 1)[0])


def unit_states(units):
    if not units:
        return {}
    # is-active prints one line per unit, in order, whatever each one's state.
    done = subprocess.run(['systemctl', 'is-active'] + units, capture_output=True, text=True, check=False)
    return dict(zip(units, done.stdout.split()))


def file_facts(path):
    try:
        return {'exists': True, 'mode': '%04o' % (os.stat(path).st_mode & 0o7777)}
    except OSError:
        return {'exists': False, 'mode': None}


def text(path):
    try:
        with open(path, errors='replace') as handle:
            return handle.read()
    except OSError:
        return None


def names(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return None


def main():
    want = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    links = ip_json('addr', 'show')
    facts = {
        # Link-local addresses (every IPv6 interface has one, derived from its MAC) are never a VIP: left out.
        'addresses': {link['ifname']: ['%s/%s' % (a['local'], a['prefixlen']) for a in link.get('addr_info', [])
                                       if a.get('scope') != 'link']
                      for link in links},
        'macs': {link['ifname']: link.get('address') for link in links},
        'up': {link['ifname']: 'UP' in link.get('flags', []) for link in links},
        'default_route': [r.get('gateway') for r in ip_json('route', 'show', 'default')],
        'neighbours': {n['dst']: n.get('lladdr') for n in ip_json('neigh', 'show')},
        'sysctl': {name: sysctl(name) for name in sorted(set(SYSCTLS) | set(want.get('sysctl', [])))},
        'arptables': run('arptables-legacy', '-L', '-n') if os.path.exists('/usr/sbin/arptables-legacy') else '',
        'ipvs': run('ipvsadm', '-S', '-n') if os.path.exists('/usr/sbin/ipvsadm') else '',
        'ipvs_size': ipvs_size(),
        'nftables': run('nft', 'list', 'ruleset') if os.path.exists('/usr/sbin/nft') else '',
        'units': unit_states(want.get('units', [])),
        'files': {path: file_facts(path) for path in want.get('files', [])},
        'texts': {path: text(path) for path in want.get('texts', [])},
        'dirs': {path: names(path) for path in want.get('dirs', [])},
        'system_state': run('systemctl', 'is-system-running').strip(),
    }
    print(json.dumps(facts))


if __name__ == '__main__':
    main()
