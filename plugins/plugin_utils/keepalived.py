# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived configuration for the directors, derived from the one cluster data model.

Input: the normalised services (model.normalise_services), the directors group, this director's
keepalived_* settings. Output: a plain structure that roles/keepalived/templates/keepalived.conf.j2
renders; nothing here knows keepalived's syntax beyond names and units. Every problem is collected
and raised once as ModelError naming the variable, like the data model does. Every string that reaches the
template is checked whole by the shared core (module_utils/lvs_validate.py): a newline or a # would
otherwise cut or comment out a keepalived.conf line.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping

from ansible_collections.lvs.cluster.plugins.module_utils import lvs_validate as check
from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import new_service, service_id
from ansible_collections.lvs.cluster.plugins.module_utils.lvs_validate import Invalid, describe, key_text
from ansible_collections.lvs.cluster.plugins.plugin_utils.bgp import announce_routes
from ansible_collections.lvs.cluster.plugins.plugin_utils.facts import interface_addresses
from ansible_collections.lvs.cluster.plugins.plugin_utils.model import ModelError
from ansible_collections.lvs.cluster.plugins.plugin_utils.settings import SettingsChecker

# keepalived's own names for the forwarding methods and protocols.
LB_KIND = {'nat': 'NAT', 'dr': 'DR', 'tun': 'TUN'}
# Said instead of the value, which is a secret (check.AUTH_PASS_RE: printable, PASS uses 8 bytes).
AUTH_PASS_RULE = ('must be 1..8 printable characters without spaces, double quotes, # ! $ \\ { or } '
                  '(value hidden)')
ROUTER_ID_RULE = "usable as keepalived's router_id: printable ASCII without spaces, double quotes, # ! $ \\ { or }"
DEFAULT_PRIORITY, PRIORITY_STEP = 150, 10
SETTINGS_DEFAULTS = {
    'priority': 0, 'preempt': True, 'preempt_delay': 0, 'advert_int': 1, 'interface': '',
    'virtual_router_id_base': 51, 'virtual_router_ids': {}, 'auth_pass': '',
    'sync_daemon': True, 'sync_interface': '', 'sync_id': 0, 'unicast': False, 'unicast_address': '',
    'vrrp_version': 2,
    # vrrp: the directors share the VIPs by VRRP (lvs_director_ha: keepalived); bgp: no VRRP, every director serves,
    # and keepalived adds a service's route to bgp_table while the service has its quorum (BIRD announces it).
    'mode': 'vrrp', 'bgp_table': 4242,
}
# VRRPv3 carries the advertisement interval in hundredths of a second, in 12 bits (RFC 5798 5.2.7).
MAX_V3_CENTISECONDS = 4095
ADVERT_INT_WHY = 'a VRRP router drops advertisements sent at another interval'


def _number(value):
    """value when it is an int or a float (not a bool), else Invalid."""
    if check.is_int(value) or isinstance(value, float):
        return value
    raise Invalid('must be a number')


def _address_beside(facts, vrrp_address, interface=None):
    """The host's own address on the subnet of vrrp_address (the one it sends VRRP from), or None; one on
    `interface` (the instance's) first."""
    target = ipaddress.ip_address(vrrp_address)
    facts = facts if isinstance(facts, Mapping) else {}
    found = [(name, address) for name in facts.get('interfaces') or []
             for address, network in interface_addresses(facts, name)
             if target in network and network.num_addresses > 1 and ipaddress.ip_address(address) != target]
    found.sort(key=lambda item: item[0] != interface)
    return found[0][1] if found else None


def _name(kind, address):
    return 'lvs_%s_%s' % (kind, re.sub(r'[^0-9A-Za-z]', '_', address))


def _held_out_glob(address):
    """A glob matching the file named after a real server's address and nothing else.

    keepalived.conf includes it in the real server's block (lvs.cluster.realserver tasks_from: drain writes
    "weight 0" there): an include whose glob matches nothing is silent, a missing plain path is a warning.
    Addresses are validated: digits, hex letters, dots and colons only, so one bracketed character will do.
    """
    for i, char in enumerate(address):
        if char not in '.:':
            return '%s[%s]%s' % (address[:i], char, address[i + 1:])
    return address


def _vrrp_addresses(services):
    """[(address, 'vip'|'gw', family)]: every distinct VIP, then every distinct NAT gateway."""
    result, seen = [], set()
    candidates = [(svc['vip'], 'vip', svc['family']) for svc in services]
    candidates += [(svc.get('gateway'), 'gw', svc['family']) for svc in services]
    for address, kind, family in candidates:
        if address and address not in seen:
            seen.add(address)
            result.append((address, kind, family))
    return result


class _Builder(SettingsChecker):
    def __init__(self, services, hostname, directors, hostvars, settings, placement):
        super().__init__(settings, SETTINGS_DEFAULTS, 'keepalived')
        self.services = services
        self.hostname = hostname
        self.directors = list(directors or [])
        self.hostvars = hostvars if hostvars is not None else {}
        self.placement = placement if isinstance(placement, Mapping) else None

    # -- priorities: every director's, so the highest one starts as MASTER -------------------------
    def priority_of(self, host, index):
        value = self._director_setting(host, 'priority')
        if value in (0, None):
            return max(1, DEFAULT_PRIORITY - PRIORITY_STEP * index)
        return value

    def priorities(self):
        if self.hostname not in self.directors:
            self.err('lvs_directors', 'host %s is not in the group, so it has no VRRP priority' % self.hostname)
            return None, None
        seen, mine = {}, None
        for index, host in enumerate(self.directors):
            value = self.priority_of(host, index)
            var = 'keepalived_priority' if host == self.hostname else 'keepalived_priority (host %s)' % host
            if self.integer(var, value, 1, 254) is None:
                continue
            if value in seen and host == self.hostname:
                self.err('keepalived_priority', '%d is also the priority of %s: give each director its own '
                         '(VRRP would elect by address)' % (value, seen[value]))
            seen.setdefault(value, host)
            if host == self.hostname:
                mine = value
        return mine, (max(seen) if seen else None)

    # -- VRRP instances: one per VIP, one per NAT gateway -----------------------------------------
    def router_ids(self, addresses):
        explicit = self.settings['virtual_router_ids'] or {}
        if not isinstance(explicit, Mapping):
            self.err('keepalived_virtual_router_ids', 'must be a mapping of address -> id, got %s' % describe(explicit))
            explicit = {}
        wanted = {}
        known = dict((a, None) for a, _k, _f in addresses)
        for key, value in explicit.items():
            var = 'keepalived_virtual_router_ids[%s]' % key_text(key)
            try:
                addr = check.ip_address(key)
            except Invalid:
                addr = None
            if addr is None or addr.compressed not in known:
                self.err(var, 'is not a VIP or NAT gateway of lvs_virtual_services (those are: %s)'
                         % (', '.join(known) or 'none'))
            elif self.integer(var, value, 1, 255) is not None:
                wanted[addr.compressed] = value
        base = self.integer('keepalived_virtual_router_id_base', self.settings['virtual_router_id_base'], 1, 255)
        ids, taken, next_id = {}, set(wanted.values()), base or 1
        for address, _kind, _family in addresses:
            if address in wanted:
                ids[address] = wanted[address]
                continue
            while next_id in taken:
                next_id += 1
            if next_id > 255:
                self.err('keepalived_virtual_router_id_base', 'not enough router ids from %s for %d VRRP '
                         'instances (ids go up to 255)' % (base, len(addresses)))
                next_id = 255
            ids[address] = next_id
            taken.add(next_id)
        return ids

    def interface_of(self, address):
        if self.placement is not None and address in self.placement:
            # Chosen from facts (lvs.cluster.vip_interfaces): still a name that goes into the file.
            return self.checked('keepalived_interface (for %s)' % address, check.interface, self.placement[address])
        return self.settings['interface'] or None

    def instances(self, priority, top):
        addresses = _vrrp_addresses(self.services)
        ids = self.router_ids(addresses)
        preempt = self.boolean('keepalived_preempt', self.settings['preempt'])
        preempt_delay = self.integer('keepalived_preempt_delay', self.settings['preempt_delay'], 0, 1000)
        version = self.vrrp_version()
        advert_int = self.advert_int(version) if version is not None else None
        self.checked('keepalived_interface', check.interface, self.settings['interface'], allow_empty=True)
        auth_pass = self.auth_pass()
        if auth_pass and version == 3:
            self.err('keepalived_auth_pass', 'VRRP version 3 has no authentication (keepalived would ignore it): '
                     'leave it empty, or set keepalived_vrrp_version: 2')
        state = 'MASTER' if preempt and priority is not None and priority == top else 'BACKUP'
        result = []
        for address, kind, family in addresses:
            result.append({
                'name': _name(kind, address), 'address': address, 'family': family,
                'prefix': 32 if family == 'inet' else 128, 'kind': 'vip' if kind == 'vip' else 'gateway',
                'interface': self.interface_of(address), 'virtual_router_id': ids.get(address),
                'priority': priority, 'state': state, 'advert_int': advert_int, 'preempt': preempt,
                'preempt_delay': preempt_delay or 0,
                # VRRPv3 (always used for IPv6) has no authentication.
                'auth': bool(auth_pass) and family == 'inet' and version == 2,
            })
        self.unicast(result)
        seen = {}
        for inst in result:
            if inst['interface'] is None:
                continue
            key = (inst['interface'], inst['family'], inst['virtual_router_id'])
            if key in seen:
                self.err('keepalived_virtual_router_ids', 'router id %s is used twice on %s (%s and %s): ids must '
                         'be unique per interface' % (key[2], key[0], seen[key], inst['address']))
            seen.setdefault(key, inst['address'])
        return result

    def vrrp_version(self):
        """2 or 3 (None when invalid), the same as every other director's where the inventory sets it."""
        value = self.settings['vrrp_version']
        if not check.is_int(value) or value not in (2, 3):
            self.err('keepalived_vrrp_version', 'must be 2 or 3, got %s%s' % (
                check.describe(value), ' (give -e a number: -e \'{"keepalived_vrrp_version": 3}\')'
                if isinstance(value, str) else ''))
            return None
        self.same_on_every_director('vrrp_version', value, _number, 'VRRPv2 and VRRPv3 do not hear each other')
        return int(value)

    def same_on_every_director(self, name, mine, read, why):
        """An error when another director's inventory sets keepalived_<name> to something other than mine.
        read(value) gives what is compared, or raises Invalid: that director's own run names a bad value. Only
        what the inventory sets for that director counts (play or role vars are the same for all)."""
        for host in self.directors:
            if host == self.hostname:
                continue
            try:
                if 'keepalived_' + name not in self.hostvars[host]:
                    continue
                theirs = read(self.hostvars[host]['keepalived_' + name])
            except (KeyError, TypeError, Invalid):
                continue
            if theirs != mine:
                self.err('keepalived_' + name, 'is %s here but %s on %s: every director must use the same (%s)'
                         % (check.short_repr(mine), check.short_repr(theirs), host, why))

    def advert_int(self, version):
        """keepalived_advert_int as keepalived.conf text: whole seconds 1..255 for VRRPv2; for VRRPv3 also
        fractions, in hundredths of a second, 0.01..40.95 (fast failover)."""
        var, value = 'keepalived_advert_int', self.settings['advert_int']
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)  # the argument spec hands over 1 as 1.0
        if version == 2 and isinstance(value, float) and math.isfinite(value) and 0 < value <= MAX_V3_CENTISECONDS / 100:
            self.err(var, '%s: fractions of a second need keepalived_vrrp_version: 3' % value)
            return None
        if version == 2:
            number = self.integer(var, value, 1, 255)
            if number is not None:
                self.same_on_every_director('advert_int', number, _number, ADVERT_INT_WHY)
            return None if number is None else str(number)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not math.isfinite(value)):
            self.err(var, 'must be a number of seconds 0.01..40.95, got %s' % check.describe(value))
            return None
        hundredths = value * 100 if check.is_int(value) else round(value * 100)
        if not check.is_int(value) and abs(value * 100 - hundredths) > 1e-6:
            self.err(var, '%s has more than two decimals: VRRPv3 counts in hundredths of a second' % value)
        elif not 1 <= hundredths <= MAX_V3_CENTISECONDS:
            self.err(var, '%s is outside 0.01..40.95 (VRRPv3)' % check.short_repr(value))
        else:
            self.same_on_every_director('advert_int', value, _number, ADVERT_INT_WHY)
            whole, rest = divmod(hundredths, 100)
            return str(whole) if rest == 0 else ('%d.%02d' % (whole, rest)).rstrip('0')
        return None

    # -- unicast VRRP: where multicast is blocked (clouds), each instance sends to the other directors --------
    def _director_setting(self, host, name):
        if host == self.hostname:
            return self.settings[name]
        try:
            return self.hostvars[host].get('keepalived_' + name, SETTINGS_DEFAULTS[name])
        except (KeyError, AttributeError, TypeError):
            return SETTINGS_DEFAULTS[name]

    def explicit_addresses(self, host):
        """{family: address} of keepalived_unicast_address (one address, or a list of one per family)."""
        var = 'keepalived_unicast_address' if host == self.hostname else 'keepalived_unicast_address (host %s)' % host
        given = self._director_setting(host, 'unicast_address')
        if given in ('', None, []):
            return {}
        result = {}
        for value in (given if isinstance(given, list) else [given]):
            addr = self.checked(var, check.ip_address, value)
            if addr is None:
                continue
            family = check.family_of(addr)
            if family in result:
                self.err(var, 'give at most one address per family, got %s and %s' % (result[family], addr.compressed))
            result.setdefault(family, addr.compressed)
        return result

    def own_address(self, host, inst):
        """host's address for instance inst: keepalived_unicast_address of its family, else from its facts."""
        explicit = self.explicit_addresses(host).get(inst['family'])
        if explicit:
            return explicit
        try:
            facts = self.hostvars[host].get('ansible_facts') or {}
        except (KeyError, AttributeError, TypeError):
            facts = {}
        found = _address_beside(facts, inst['address'], inst['interface'])
        if found is None:
            var = 'keepalived_unicast_address' if host == self.hostname else 'keepalived_unicast_address (host %s)' % host
            self.err(var, 'no address of %s on the subnet of %s is known for unicast VRRP: gather its facts in '
                          'this play (every director in one play), or set keepalived_unicast_address on it'
                     % (host, inst['address']))
            return None
        addr = self.checked('facts of %s' % host, check.ip_address, found)
        return addr.compressed if addr is not None else None

    def unicast(self, instances):
        """With keepalived_unicast: unicast_src_ip and unicast_peers of each instance (known once facts are)."""
        mine = self.boolean('keepalived_unicast', self.settings['unicast'])
        for host in self.directors:
            self.explicit_addresses(host)  # checked now, before anything changes (preflight)
        self.same_on_every_director('unicast', mine, check.boolean, 'multicast and unicast VRRP do not hear each other')
        if not mine or self.placement is None:
            return  # multicast, or preflight (no facts yet)
        for inst in instances:
            src = self.own_address(self.hostname, inst)
            peers = [self.own_address(host, inst) for host in self.directors if host != self.hostname]
            known = [a for a in [src] + peers if a is not None]
            if len(set(known)) != len(known):
                self.err('keepalived_unicast_address', 'directors share an address for %s (%s): each needs its own'
                         % (inst['address'], ', '.join(known)))
            for address in known:
                if check.family_of(ipaddress.ip_address(address)) != inst['family']:
                    self.err('keepalived_unicast_address', '%s is not of the family of %s' % (address, inst['address']))
            inst['unicast_src_ip'] = src
            inst['unicast_peers'] = [a for a in peers if a is not None]

    def auth_pass(self):
        """The VRRP secret ('' = no authentication); never echoed in a message."""
        value = self.settings['auth_pass']
        if isinstance(value, str) and value == '':
            return ''
        try:
            return check.token(value, check.AUTH_PASS_RE, 'a VRRP password')
        except Invalid:
            self.err('keepalived_auth_pass', AUTH_PASS_RULE)
            return ''

    def sync_daemon(self, instances):
        enabled = self.boolean('keepalived_sync_daemon', self.settings['sync_daemon'])
        sync_id = self.integer('keepalived_sync_id', self.settings['sync_id'], 0, 255)
        interface = self.checked('keepalived_sync_interface', check.interface, self.settings['sync_interface'],
                                 allow_empty=True) or ''
        if not enabled or not instances:
            return None
        first = instances[0]
        return {'interface': interface or first['interface'], 'instance': first['name'],
                'id': sync_id or first['virtual_router_id']}

    # -- virtual_server blocks ---------------------------------------------------------------------
    @staticmethod
    def virtual_server(svc):
        check = svc.get('health_check') or {}
        real_servers = []
        for rs in svc['real_servers']:
            real_servers.append({
                'address': rs['address'], 'port': rs['port'], 'weight': rs['weight'],
                'uthreshold': rs['upper_threshold'], 'lthreshold': rs['lower_threshold'],
                'host': rs.get('host'), 'held_out_glob': _held_out_glob(rs['address']),
            })
        return {
            'name': svc['name'],
            # ipvsadm's name of the service (-t VIP:PORT, -f MARK [-6]): the unit removes it once keepalived has exited.
            'ipvs_id': service_id(new_service(svc['protocol'], svc['vip'], svc['port'], svc['fwmark'], svc['family'])),
            'fwmark': svc['fwmark'], 'address': svc['vip'] if svc['fwmark'] is None else None,
            'port': svc['port'] if svc['fwmark'] is None else None,
            'protocol': (svc['protocol'] or 'tcp').upper(),
            'lb_algo': svc['scheduler'], 'lb_kind': LB_KIND[svc['forwarding']],
            'flags': list(svc['scheduler_flags'] or []),
            'persistence_timeout': svc['persistence'], 'persistence_granularity': svc['persistence_netmask'],
            'delay_loop': check.get('delay_loop'), 'quorum': svc.get('quorum', 1),
            'hysteresis': svc.get('hysteresis', 0), 'inhibit_on_failure': bool(svc.get('inhibit_on_failure')),
            'sorry_server': svc.get('sorry_server'),
            'check': dict(check) if check.get('type') not in (None, 'none') else None,
            'real_servers': real_servers,
        }

    def run(self):
        self.checked('inventory_hostname', check.token, self.hostname, check.ROUTER_ID_RE, ROUTER_ID_RULE)
        mode = self.checked('lvs_director_ha', check.choice, self.settings['mode'], ('vrrp', 'bgp'), 'a keepalived mode')
        if mode == 'bgp':
            return self.run_bgp()
        priority, top = self.priorities()
        instances = self.instances(priority, top)
        sync = self.sync_daemon(instances)
        if self.errors:
            raise ModelError(self.errors)
        virtual_servers = [self.virtual_server(svc) for svc in self.services]
        return {
            'mode': 'vrrp',
            'router_id': self.hostname,
            'vrrp_version': int(self.settings['vrrp_version']),
            'instances': instances,
            # A sync group of one is a configuration error for keepalived -t; with more, every VIP and
            # gateway fails over together (a NAT gateway must follow its VIP).
            'sync_group': [i['name'] for i in instances] if len(instances) > 1 else [],
            'sync_daemon': sync,
            'scripts': any(vs['check'] and vs['check']['type'] == 'misc_check' for vs in virtual_servers),
            'virtual_servers': virtual_servers,
        }

    def run_bgp(self):
        """No VRRP: keepalived builds the table with health checks, and each service's quorum_up/quorum_down add and
        delete its route in bgp_table, which BIRD announces. A failed real server keeps its place at weight 0
        (inhibit_on_failure): a removed and re-added one would go to the end of the list, and mh/sh would then map
        flows differently from the other directors."""
        table = self.integer('bgp table', self.settings['bgp_table'], 1, 4294967294)
        if self.errors:
            raise ModelError(self.errors)
        routes = announce_routes(self.services, table)
        virtual_servers = []
        for svc in self.services:
            vs = self.virtual_server(svc)
            # No alpha: with real servers down until their first check, the first one up brings the quorum and the
            # announcement while the others still wait, and mh-fallback then sends moved flows to other real
            # servers than the other directors do (2 of 16 long-lived connections reset when a director came back).
            vs['inhibit_on_failure'] = True
            vs['quorum_up'] = ' '.join(routes[svc['name']]['up']) if svc['name'] in routes else None
            vs['quorum_down'] = ' '.join(routes[svc['name']]['down']) if svc['name'] in routes else None
            virtual_servers.append(vs)
        return {
            'mode': 'bgp', 'router_id': self.hostname, 'vrrp_version': 2, 'instances': [], 'sync_group': [],
            'sync_daemon': None, 'bgp_table': table,
            # quorum_up/quorum_down run /bin/ip as root: keepalived then wants its script security on.
            'scripts': True, 'virtual_servers': virtual_servers,
        }


def keepalived_config(services, hostname, directors, hostvars, settings, placement=None):
    """Normalised services + this director's keepalived_* settings -> the structure the template renders.

    placement: {address: interface} for the VRRP addresses (None before facts are gathered: interfaces
    are then only known when keepalived_interface is set).
    """
    if not isinstance(services, (list, tuple)) or not all(isinstance(s, Mapping) and 'real_servers' in s
                                                          for s in services):
        raise ModelError(['keepalived_config expects the output of lvs.cluster.virtual_services'])
    return _Builder(services, hostname, directors, hostvars, settings, placement).run()


def vrrp_addresses(services):
    """The addresses keepalived holds (VIPs, then NAT gateways), in instance order."""
    return [address for address, _kind, _family in _vrrp_addresses(services)]
