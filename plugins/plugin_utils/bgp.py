# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Active-active directors behind ECMP (lvs_director_ha: bgp): what BIRD announces, derived from the data model.

Input: the normalised services (model.normalise_services), this director's bgp_* settings. Output: a plain
structure that roles/bgp/templates/bird.conf.j2 renders. Also the service rules of this mode: every director must
map a flow to the same real server, so only hash schedulers, and no NAT (replies must pass the director that
received the request, which ECMP does not promise). Every problem is collected and raised once as ModelError.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping

from ansible_collections.lvs.cluster.plugins.module_utils import lvs_validate as check
from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import new_service, service_id
from ansible_collections.lvs.cluster.plugins.module_utils.lvs_validate import Invalid, type_name
from ansible_collections.lvs.cluster.plugins.plugin_utils.model import ModelError
from ansible_collections.lvs.cluster.plugins.plugin_utils.settings import SettingsChecker

# Hash schedulers: the choice depends only on the packet and the destination list, never on this director's state.
CONSISTENT_SCHEDULERS = ('mh', 'sh')
FORWARDINGS = ('dr', 'tun')
# Written inside double quotes in BIRD's configuration; TCP MD5 keys are at most 80 bytes (RFC 2385).
PASSWORD_RE = re.compile(r'(?:(?!["\\])[ -~]){1,80}')
PASSWORD_RULE = 'must be 1..80 printable ASCII characters without double quotes or backslashes (value hidden)'
PEER_KEYS = ('address', 'as', 'password', 'bfd', 'multihop')
MAX_AS = 4294967295
SETTINGS_DEFAULTS = {
    'local_as': None, 'router_id': '', 'peers': [], 'hold_time': 9, 'bfd_interval': 200, 'bfd_multiplier': 3,
    'maintenance': False, 'table': 4242, 'withdraw_settle': 3,
}


def _peer_name(address):
    return 'lvs_peer_%s' % re.sub(r'[^0-9A-Za-z]', '_', address)


def service_problems(services):
    """The services' problems in this mode, each 'path: message' in the user's terms."""
    problems = []
    for svc in services:
        label = 'lvs_virtual_services (%s)' % svc['name']
        if svc['scheduler'] not in CONSISTENT_SCHEDULERS:
            problems.append(
                '%s.scheduler: %s keeps state of its own on each director, but with lvs_director_ha: bgp every '
                'director must send a flow to the same real server (a router may move it to another director): use '
                'mh (with scheduler_flags: [mh-fallback, mh-port], recommended) or sh (with sh-fallback)'
                % (label, svc['scheduler']))
        elif '%s-fallback' % svc['scheduler'] not in (svc['scheduler_flags'] or []):
            problems.append(
                '%s.scheduler_flags: add %s-fallback with lvs_director_ha: bgp: a real server that fails its health '
                'check keeps its place at weight 0 (so that no other flow moves), and without the flag the flows '
                'hashed to it fail instead of going to another real server' % (label, svc['scheduler']))
        if svc['forwarding'] not in FORWARDINGS:
            problems.append(
                '%s.forwarding: %s is not supported with lvs_director_ha: bgp: NAT replies must pass back through '
                'the director that received the request, and ECMP does not send them there; use dr or tun'
                % (label, svc['forwarding']))
        if not svc['vip']:
            problems.append('%s.vip: required with lvs_director_ha: bgp (it is the address the directors announce)'
                            % label)
    return problems


class _Builder(SettingsChecker):
    def __init__(self, services, hostname, settings, facts):
        super().__init__(settings, SETTINGS_DEFAULTS, 'bgp')
        self.services = services
        self.hostname = hostname
        self.facts = facts if isinstance(facts, Mapping) else None

    def router_id(self):
        """An IPv4 address: bgp_router_id, else the director's default IPv4 address (known once facts are)."""
        given = self.settings['router_id']
        if given not in ('', None):
            addr = self.checked('bgp_router_id', check.ip_address, given)
            if addr is not None and addr.version != 4:
                self.err('bgp_router_id', '%s: a router id is written as an IPv4 address' % addr.compressed)
                return None
            return addr.compressed if addr is not None else None
        if self.facts is None:
            return None  # preflight: facts come later
        default = self.facts.get('default_ipv4')
        found = default.get('address') if isinstance(default, Mapping) else None
        try:
            addr = check.ip_address(found) if found else None
        except Invalid:
            addr = None
        if addr is None or addr.version != 4:
            self.err('bgp_router_id', 'this director has no default IPv4 address to take it from: set it (an IPv4 '
                                      'address unique among the BGP speakers)')
            return None
        return addr.compressed

    def peers(self, vips):
        value = self.settings['peers']
        if not isinstance(value, list) or not value:
            # only the type: the value may hold a password
            self.err('bgp_peers', 'must be a non-empty list of {address, as} (the routers this director announces '
                                  'its VIPs to), got %s' % ('an empty list' if value == [] else type_name(value)))
            return []
        result, seen = [], set()
        for index, item in enumerate(value):
            path = 'bgp_peers[%d]' % index
            if not isinstance(item, Mapping):
                self.err(path, 'must be a mapping with address and as, got %s' % type_name(item))
                continue
            for key in check.unknown_keys(item, PEER_KEYS):
                self.err('%s.%s' % (path, key), 'unknown key (known: %s)' % ', '.join(PEER_KEYS))
            addr = self.checked(path + '.address', check.ip_address, item.get('address'))
            peer_as = self.integer(path + '.as', item.get('as'), 1, MAX_AS)
            password = item.get('password', '')
            if password not in ('', None):
                try:
                    check.token(password, PASSWORD_RE, 'a BGP password')
                except Invalid:
                    self.err(path + '.password', PASSWORD_RULE)
                    password = ''
            bfd = self.boolean(path + '.bfd', item.get('bfd', False))
            multihop = self.boolean(path + '.multihop', item.get('multihop', False))
            if addr is None:
                continue
            if bfd and multihop:
                self.err(path, 'bfd with multihop: BIRD needs a source address for multihop BFD, which this role '
                               'does not set; use BFD with a directly connected router only')
            if addr.compressed in vips:
                self.err(path + '.address', '%s is a VIP of lvs_virtual_services, not a router' % addr.compressed)
            if addr.compressed in seen:
                self.err(path + '.address', '%s is listed twice' % addr.compressed)
            seen.add(addr.compressed)
            result.append({
                'name': _peer_name(addr.compressed), 'address': addr.compressed, 'family': check.family_of(addr),
                # The password itself stays in the inventory: only the secrets file's template reads it.
                'index': index, 'as': peer_as, 'password': bool(password), 'bfd': bfd, 'multihop': multihop,
            })
        return result

    def run(self):
        self.errors.extend(service_problems(self.services))
        vips = {'inet': [], 'inet6': []}
        for svc in self.services:
            if svc['vip'] and svc['vip'] not in vips[svc['family']]:
                vips[svc['family']].append(svc['vip'])
        local_as = self.integer('bgp_local_as', self.settings['local_as'], 1, MAX_AS)
        hold_time = self.integer('bgp_hold_time', self.settings['hold_time'], 3, 65535)
        interval = self.integer('bgp_bfd_interval', self.settings['bfd_interval'], 10, 10000)
        multiplier = self.integer('bgp_bfd_multiplier', self.settings['bfd_multiplier'], 1, 255)
        maintenance = self.boolean('bgp_maintenance', self.settings['maintenance'])
        settle = self.integer('bgp_withdraw_settle', self.settings['withdraw_settle'], 0, 600)
        table = self.integer('bgp table', self.settings['table'], 1, 4294967294)
        router_id = self.router_id()
        peers = self.peers(vips['inet'] + vips['inet6'])
        for family, name in (('inet', 'IPv4'), ('inet6', 'IPv6')):
            if vips[family] and peers and not any(p['family'] == family for p in peers):
                self.err('bgp_peers', 'no %s peer: the %s VIPs (%s) would never be announced'
                         % (name, name, ', '.join(vips[family])))
        for peer in peers:
            if not vips[peer['family']]:
                self.err('bgp_peers', '%s is an %s peer, but no VIP of that family is declared to announce to it'
                         % (peer['address'], 'IPv4' if peer['family'] == 'inet' else 'IPv6'))
        if self.errors:
            raise ModelError(self.errors)
        return {
            'router_id': router_id, 'local_as': local_as, 'hold_time': hold_time,
            # BGP's usual ratio: three keepalives per hold time.
            'keepalive_time': max(1, hold_time // 3), 'table': table, 'maintenance': maintenance,
            'withdraw_settle': settle,
            'vips': vips, 'families': [f for f in ('inet', 'inet6') if vips[f]],
            'prefixes': {f: ['%s/%d' % (vip, 32 if f == 'inet' else 128) for vip in vips[f]] for f in vips},
            'peers': peers, 'passwords': any(p['password'] for p in peers),
            'bfd': {'interval': interval, 'multiplier': multiplier} if any(p['bfd'] for p in peers) else None,
        }


def bgp_config(services, hostname, settings, facts=None):
    """Normalised services + this director's bgp_* settings -> the structure bird.conf.j2 renders.

    facts: this director's gathered facts (None in preflight: the router id is then only checked when set).
    """
    if not isinstance(services, (list, tuple)) or not all(isinstance(s, Mapping) and 'real_servers' in s
                                                          for s in services):
        raise ModelError(['bgp_config expects the output of lvs.cluster.virtual_services'])
    return _Builder(services, hostname, settings, facts).run()


def route_metric(svc):
    """A service's metric in the table: from its IPVS identity, not its position, so that adding or removing another
    service never makes a quorum_down delete the wrong route. 1..2^31."""
    key = service_id(new_service(svc['protocol'], svc['vip'], svc['port'], svc['fwmark'], svc['family']))
    return zlib.crc32(key.encode('ascii')) % 0x7fffffff + 1


def announce_routes(services, table):
    """Per service, the kernel route keepalived adds while the service has its quorum and deletes when it loses it:
    {'up': argv, 'down': argv}. One route per service (its own metric), so a VIP stays announced while any of its
    services is up; BIRD's kernel protocol learns the best one of each VIP from that table."""
    result, taken = {}, {}
    for svc in services:
        if not svc['vip']:
            continue
        metric = route_metric(svc)
        if (svc['vip'], metric) in taken:  # two services of one VIP with one metric: practically never
            raise ModelError(['lvs_virtual_services (%s): its route metric %d (a hash of protocol and port) is also '
                              'that of %s on the same VIP: change the port of one, and please report it'
                              % (svc['name'], metric, taken[(svc['vip'], metric)])])
        taken[(svc['vip'], metric)] = svc['name']
        prefix = '%s/%d' % (svc['vip'], 32 if svc['family'] == 'inet' else 128)
        family = '-4' if svc['family'] == 'inet' else '-6'
        route = [prefix, 'dev', 'lo', 'table', str(table), 'metric', str(metric)]
        result[svc['name']] = {'up': ['/bin/ip', family, 'route', 'replace'] + route,
                               'down': ['/bin/ip', family, 'route', 'delete'] + route}
    return result
