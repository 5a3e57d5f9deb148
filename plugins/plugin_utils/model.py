# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and normalisation of the cluster data model (docs/data-model.md).

Pure Python on purpose: the filters, a keepalived config filter and the verify playbook all reuse it.
Every problem is collected and raised once as ModelError, so operators fix everything in one go.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.lvs.cluster.plugins.module_utils import lvs_validate as check
from ansible_collections.lvs.cluster.plugins.module_utils.lvs_validate import (
    FORWARDINGS, MAX_PERSISTENCE, MAX_PORT, MAX_THRESHOLD, MAX_U32, MAX_WEIGHT, PROTOCOLS, SCHEDULERS,
    Invalid, describe, family_of, is_int, type_name,
)
from ansible_collections.lvs.cluster.plugins.plugin_utils.settings import Problems

SERVICE_KEYS = ('name', 'vip', 'port', 'fwmark', 'protocol', 'scheduler', 'scheduler_flags', 'forwarding',
                'persistence', 'persistence_netmask', 'gateway', 'real_servers',
                'health_check', 'sorry_server', 'quorum', 'hysteresis', 'inhibit_on_failure', 'match')
# match: what traffic the director marks with a fwmark service's mark (docs/data-model.md).
MATCH_KEYS = ('addresses', 'ports', 'protocols')
MATCH_DEFAULT_PROTOCOLS = ['tcp']
# Items per match list: each mark rule is one line of lvs-netstate's data file and one nft rule; ranges and
# prefixes say more in one item.
MAX_MATCH_ITEMS = 64
# Read only by keepalived (lvs.cluster.keepalived); the lvs.cluster.ipvs module has no health checks.
HEALTH_CHECK_TYPES = ('tcp_check', 'http_get', 'misc_check', 'none')
HEALTH_CHECK_KEYS = ('type', 'path', 'status_code', 'script', 'connect_timeout', 'timeout', 'retries',
                     'delay_before_retry', 'delay_loop')
HEALTH_CHECK_DEFAULTS = {'type': 'tcp_check', 'path': '/', 'status_code': 200, 'script': None,
                         'connect_timeout': 3, 'timeout': 5, 'retries': 1, 'delay_before_retry': 1,
                         'delay_loop': 5}
# key -> (low, high) for the integer settings of a health check (seconds, except retries/status_code)
HEALTH_CHECK_RANGES = {'status_code': (100, 599), 'connect_timeout': (1, 3600), 'timeout': (1, 3600),
                       'retries': (0, 100), 'delay_before_retry': (0, 3600), 'delay_loop': (1, 86400)}
HTTP_PATH = 'a URL path starting with / of printable ASCII without spaces, quotes, backslashes, braces, # ! or $'
SCRIPT = ('an absolute command path plus arguments, printable ASCII without double quotes, backslashes, '
          'braces or $')
SORRY_SERVER_KEYS = ('address', 'port')
REAL_SERVER_KEYS = ('group', 'address', 'port', 'weight', 'upper_threshold', 'lower_threshold')
DEFAULTS = {'protocol': 'tcp', 'scheduler': 'wlc', 'forwarding': 'dr'}
# Host var: a real server's address in IPv6 services (a dual-stack host; docs/data-model.md).
ADDRESS6_VAR = 'lvs_real_server_address6'


class ModelError(ValueError):
    """All problems found in the data model; .errors holds one message per problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__('\n'.join(self.errors))


def _is_list(value):
    return isinstance(value, (list, tuple))


def _hostport(address, port):
    text = '[%s]' % address if ':' in address else address
    return text if port is None else '%s:%s' % (text, port)


def _ip_version_text(family):
    return 'IPv4' if family == 'inet' else 'IPv6'


def _other_family(text, version, family, vip):
    """'<text> is IPv6 but the service is IPv4 (vip ...)': an address (or prefix) of the wrong family."""
    return '%s is IPv%d but the service is %s (%s)' % (
        text, version, _ip_version_text(family),
        'vip %s' % vip.compressed if vip is not None else 'taken from the first real server')


def _port_text(low, high):
    return '%d' % low if low == high else '%d-%d' % (low, high)


class HostVarError(ValueError):
    """A host var that Ansible could not produce (e.g. a template referring to an undefined variable)."""


def _hostvar(hostvars, host, key):
    """Read one host var from Ansible's HostVars or a plain dict of dicts."""
    try:
        hvars = hostvars[host]
    except (KeyError, TypeError):
        return None
    try:
        getter = getattr(hvars, 'get', None)
        return getter(key) if getter else None
    except Exception as exc:  # pylint: disable=broad-exception-caught  # templating errors of any kind
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HostVarError('%s: cannot be read: %s' % (key, first_line))


def host_address(hostvars, host, family=None):
    """Address the director uses for an inventory host: (ip object, None) or (None, reason).
    family='inet6': the host's address in IPv6 services, lvs_real_server_address6 when it is set; every other
    family (None, 'inet'): lvs_real_server_address, else ansible_host, else the inventory name if it is an IP."""
    if family == 'inet6':
        addr6, problem = _address6(hostvars, host)
        if problem is not None or addr6 is not None:
            return addr6, problem
    try:
        explicit = _hostvar(hostvars, host, 'lvs_real_server_address')
        ansible_host = _hostvar(hostvars, host, 'ansible_host') if explicit is None else None
    except HostVarError as exc:
        return None, str(exc)
    if explicit is not None:
        try:
            return check.ip_address(explicit), None
        except Invalid as exc:
            return None, 'lvs_real_server_address: %s' % exc
    # ansible_host may well be a DNS name; then the inventory name may be the address.
    for candidate in (ansible_host, host):
        try:
            return check.ip_address(candidate), None
        except Invalid:
            continue
    return None, ('no IP address: set lvs_real_server_address (%s is not a unicast IP address)'
                  % ('ansible_host %s' % check.short_repr(ansible_host) if ansible_host is not None
                     else 'ansible_host is unset and the host name'))


def _address6(hostvars, host):
    """The host's lvs_real_server_address6 (its address in IPv6 services): (ip object, None), (None, None) when it is
    unset, or (None, problem), the problem naming the variable."""
    try:
        value = _hostvar(hostvars, host, ADDRESS6_VAR)
    except HostVarError as exc:
        return None, str(exc)
    if value is None:
        return None, None
    try:
        addr = check.ip_address(value)
    except Invalid as exc:
        return None, '%s: %s' % (ADDRESS6_VAR, exc)
    if addr.version != 6:
        return None, '%s: %s is not an IPv6 address' % (ADDRESS6_VAR, addr.compressed)
    return addr, None


def host_addresses(hostvars, host):
    """Every address the directors may use for an inventory host, each once: host_address()'s (IPv4 services,
    and IPv6 services when lvs_real_server_address6 is unset), then lvs_real_server_address6.
    (list of ip objects, list of problems). A host with a valid lvs_real_server_address6 needs no other address
    (then "no IP address" is not a problem); a lvs_real_server_address the user set is checked all the same."""
    addr, reason = host_address(hostvars, host)
    addr6, problem6 = _address6(hostvars, host)
    if addr6 is not None and reason is not None:
        try:
            if _hostvar(hostvars, host, 'lvs_real_server_address') is None:
                reason = None
        except HostVarError:
            pass  # the reason says so
    addresses = [addr] if addr is not None else []
    if addr6 is not None and addr6 != addr:
        addresses.append(addr6)
    return addresses, [p for p in (reason, problem6) if p is not None]


class _Normaliser(Problems):
    def __init__(self, hostvars, groups, var_name):
        super().__init__()
        self.hostvars = hostvars if hostvars is not None else {}
        self.groups = groups if isinstance(groups, Mapping) else {}
        self.var = var_name
        self._address_index = None

    # -- scalar helpers: the core's checks (Problems.checked, .integer), with the problem recorded at path ----------
    def choice(self, path, value, allowed, what):
        return self.checked(path, check.choice, value, allowed, what)

    def ip(self, path, value, loopback=False):
        return self.checked(path, check.ip_address, value, loopback=loopback)

    def unknown_keys(self, path, item, allowed):
        extra = check.unknown_keys(item, allowed)
        if extra:
            self.err(path, 'unknown key(s) %s (allowed: %s)' % (', '.join(extra), ', '.join(allowed)))

    def address_index(self):
        """canonical address -> first inventory host with that address (for address items): the hosts' addresses
        (host_address) first, then their lvs_real_server_address6, so an address6 never takes an address over."""
        if self._address_index is None:
            self._address_index = {}
            hosts = self.groups.get('all')
            if not _is_list(hosts):
                try:
                    hosts = list(self.hostvars)
                except TypeError:
                    hosts = []
            for host in hosts:
                addr, dummy = host_address(self.hostvars, host)
                if addr is not None:
                    self._address_index.setdefault(addr.compressed, str(host))
            for host in hosts:
                addr, dummy = _address6(self.hostvars, host)
                if addr is not None:
                    self._address_index.setdefault(addr.compressed, str(host))
        return self._address_index

    # -- one service ----------------------------------------------------------------------------
    def service(self, index, item):
        label = '%s[%d]' % (self.var, index)
        if not isinstance(item, Mapping):
            self.err(label, 'must be a mapping (dict), got %s' % type_name(item))
            return None
        raw_name = item.get('name')
        name = self.checked(label + '.name', check.name, raw_name) if raw_name is not None else None
        if name is not None:
            label = '%s (%s)' % (label, name)
        self.unknown_keys(label, item, SERVICE_KEYS)
        if raw_name is None:
            self.err(label + '.name', 'is required')

        has_fwmark = item.get('fwmark') is not None
        fwmark = self.integer(label + '.fwmark', item['fwmark'], 1, MAX_U32) if has_fwmark else None

        vip = item.get('vip')
        if vip is not None:
            vip = self.ip(label + '.vip', vip)
        elif not has_fwmark:
            self.err(label + '.vip', 'is required (unless fwmark is set)')

        port = item.get('port')
        if port is not None:
            port = self.integer(label + '.port', port, 1, MAX_PORT)
        elif not has_fwmark:
            self.err(label + '.port', 'is required (unless fwmark is set)')

        protocol = self.choice(label + '.protocol', item.get('protocol', DEFAULTS['protocol']), PROTOCOLS, 'protocol')
        scheduler = self.choice(label + '.scheduler', item.get('scheduler', DEFAULTS['scheduler']),
                                SCHEDULERS, 'scheduler')
        forwarding = self.choice(label + '.forwarding', item.get('forwarding', DEFAULTS['forwarding']),
                                 FORWARDINGS, 'forwarding')
        flags = self.scheduler_flags(label + '.scheduler_flags', item.get('scheduler_flags', []), scheduler)

        persistence = item.get('persistence')
        if persistence is not None:
            persistence = self.integer(label + '.persistence', persistence, 0, MAX_PERSISTENCE) or None

        # Group members are resolved for the vip's family (lvs_real_server_address6 in IPv6 services); a fwmark
        # service without vip takes its family from its first real server, so its members cannot depend on it.
        real_servers = self.real_servers(label, item.get('real_servers'), port, forwarding,
                                         family_of(vip) if vip is not None else None)
        family = self.family(vip, real_servers)
        self.real_servers_fit_service(label, real_servers, vip, family)
        match = self.match(label + '.match', item.get('match'), has_fwmark, vip, family)

        netmask = self.persistence_netmask(label + '.persistence_netmask', item.get('persistence_netmask'),
                                           item.get('persistence'), family)
        gateway = self.gateway(label + '.gateway', item.get('gateway'), forwarding, family)
        health_check = self.health_check(label + '.health_check', item.get('health_check'), port, real_servers)
        sorry = self.sorry_server(label + '.sorry_server', item.get('sorry_server'), port, forwarding, family)
        quorum = self.integer(label + '.quorum', item.get('quorum', 1), 1, MAX_U32)
        hysteresis = self.integer(label + '.hysteresis', item.get('hysteresis', 0), 0, MAX_U32)
        if quorum is not None and hysteresis is not None and hysteresis >= quorum:
            self.err(label + '.hysteresis', '%d must be below quorum %d' % (hysteresis, quorum))
        inhibit = self.checked(label + '.inhibit_on_failure', check.boolean, item.get('inhibit_on_failure', False))

        return {
            'name': name,
            'vip': vip.compressed if vip is not None else None,
            'family': family,
            'port': port,
            'fwmark': fwmark,
            'protocol': protocol,
            'scheduler': scheduler,
            'scheduler_flags': flags,
            'forwarding': forwarding,
            'persistence': persistence,
            'persistence_netmask': netmask,
            'gateway': gateway,
            'real_servers': real_servers,
            'health_check': health_check,
            'sorry_server': sorry,
            'quorum': quorum,
            'hysteresis': hysteresis,
            'inhibit_on_failure': bool(inhibit),
            'match': match,
            '_label': label,
        }

    @staticmethod
    def family(vip, real_servers):
        """The vip's family; a fwmark service without vip takes it from its first real server."""
        family_addr = vip or next((rs['_ip'] for rs in real_servers if rs['_ip'] is not None), None)
        return family_of(family_addr) if family_addr is not None else 'inet'

    def real_servers_fit_service(self, label, real_servers, vip, family):
        """Same family as the service, not the vip itself, each (address, port) once."""
        for rs in real_servers:
            addr = rs['_ip']
            if addr is None:
                continue
            if family_of(addr) != family:
                hint = ('; set %s to the host\'s IPv6 address' % ADDRESS6_VAR
                        if rs['_group'] and family == 'inet6' and vip is not None else '')
                self.err(rs['_path'], 'address ' + _other_family(addr.compressed, addr.version, family, vip) + hint)
            else:
                self.checked(rs['_path'], check.not_the_vip, addr, vip)
        self.duplicate_real_servers(label, real_servers)

    def scheduler_flags(self, path, flags, scheduler):
        if not _is_list(flags):
            self.err(path, 'must be a list, got %s' % describe(flags))
            return []
        result = []
        for k, flag in enumerate(flags):
            valid = self.checked('%s[%d]' % (path, k), check.scheduler_flag, flag, scheduler, result)
            if valid is not None:
                result.append(valid)
        return result

    # -- match: what the director marks with a fwmark service's mark --------------------------------
    def match(self, path, value, has_fwmark, vip, family):
        """None, or {addresses, protocols, ports} as canonical text: addresses in input order (prefixes
        net/len), protocols in input order, ports sorted ('80', '9000-9100'). Nothing may overlap."""
        if value is None:
            return None
        if not has_fwmark:
            self.err(path, 'is only used with fwmark (a service with vip and port matches its own traffic)')
            return None
        if not isinstance(value, Mapping):
            self.err(path, 'must be a mapping {ports: ..., protocols: ..., addresses: ...}, got %s' % type_name(value))
            return None
        self.unknown_keys(path, value, MATCH_KEYS)
        ports = self.match_ports(path + '.ports', value.get('ports'))
        protocols = self.match_protocols(path + '.protocols', value.get('protocols'))
        addresses = self.match_addresses(path + '.addresses', value.get('addresses'), vip, family)
        return {'addresses': addresses, 'protocols': protocols, 'ports': ports}

    def match_list(self, path, value, what):
        """value as a non-empty list of what, or None with the problem recorded."""
        if value is None:
            self.err(path, 'is required: a non-empty list of %s' % what)
        elif not _is_list(value):
            self.err(path, 'must be a list of %s, got %s' % (what, describe(value)))
        elif not value:
            self.err(path, 'must not be empty: a list of %s' % what)
        elif len(value) > MAX_MATCH_ITEMS:
            self.err(path, 'has %d items; at most %d (port ranges and prefixes cover more in one item)'
                     % (len(value), MAX_MATCH_ITEMS))
        else:
            return value
        return None

    def match_ports(self, path, value):
        entries = []  # (low, high, path, text) of each valid item, in input order
        for k, item in enumerate(self.match_list(path, value, 'ports 1..65535 and port ranges "LOW-HIGH"') or []):
            ipath = '%s[%d]' % (path, k)
            found = self.checked(ipath, check.port_range, item)
            if found is not None:
                entries.append(found + (ipath, _port_text(*found)))
        self.overlaps(entries)
        return [text for dummy, dummy, dummy, text in sorted(entries)]

    def match_protocols(self, path, value):
        if value is None:
            return list(MATCH_DEFAULT_PROTOCOLS)
        seen = {}  # protocol -> path, in input order
        items = self.match_list(path, value, '%s (leave it out for tcp)' % ', '.join(PROTOCOLS)) or []
        for k, item in enumerate(items):
            ipath = '%s[%d]' % (path, k)
            protocol = self.choice(ipath, item, PROTOCOLS, 'protocol')
            if protocol in seen:
                self.err(ipath, '%s is listed twice (also at %s)' % (protocol, seen[protocol]))
            elif protocol is not None:
                seen[protocol] = ipath
        return list(seen)

    def match_addresses(self, path, value, vip, family):
        if value is None and vip is not None:
            return [vip.compressed]
        what = 'unicast addresses and prefixes ADDRESS/LEN' + (' (the service has no vip to default to)'
                                                               if vip is None else '')
        entries = []  # (first, last, path, text) as integers of the service's family, in input order
        for k, item in enumerate(self.match_list(path, value, what) or []):
            ipath = '%s[%d]' % (path, k)
            net = self.checked(ipath, check.ip_network, item)
            if net is None:
                continue
            single = net.prefixlen == net.max_prefixlen
            text = net.network_address.compressed if single else net.compressed
            if family_of(net) != family:
                self.err(ipath, ('address ' if single else 'prefix ') + _other_family(text, net.version, family, vip))
            else:
                entries.append((int(net.network_address), int(net.broadcast_address), ipath, text))
        self.overlaps(entries)
        return [text for dummy, dummy, dummy, text in entries]

    def overlaps(self, entries):
        """entries: (low, high, path, text) in input order. An entry that overlaps another is reported at the
        later one's path, naming the earlier (one item, one meaning: nft would merge them silently). One sweep
        over the entries sorted by low: long lists stay fast."""
        reach = None  # index of the entry reaching furthest so far
        for index in sorted(range(len(entries)), key=lambda k: (entries[k][0], k)):
            if reach is not None and entries[index][0] <= entries[reach][1]:
                first, later = entries[min(reach, index)], entries[max(reach, index)]
                if first[:2] == later[:2]:
                    self.err(later[2], '%s is listed twice (also at %s)' % (later[3], first[2]))
                else:
                    self.err(later[2], '%s overlaps %s (at %s)' % (later[3], first[3], first[2]))
            if reach is None or entries[index][1] > entries[reach][1]:
                reach = index

    def persistence_netmask(self, path, value, persistence, family):
        if value is None:
            return None
        if persistence is None or (is_int(persistence) and persistence == 0):
            self.err(path, 'is only valid together with persistence > 0')
            return None
        prefix = self.checked(path, check.persistence_netmask, value, family)
        if prefix is None:
            return None
        # IPv6: a prefix length; IPv4: the dotted mask ipvsadm -S prints.
        return str(prefix) if family == 'inet6' else check.ipv4_netmask_text(prefix)

    def gateway(self, path, value, forwarding, family):
        if forwarding != 'nat':
            if value is not None and forwarding is not None:
                self.err(path, 'is only used with forwarding nat (this service uses %s)' % forwarding)
            return None
        if value is None:
            self.err(path, 'is required with forwarding nat (the director address real servers route replies through)')
            return None
        addr = self.ip(path, value)
        if addr is None:
            return None
        if family_of(addr) != family:
            self.err(path, '%s is IPv%d but the service is %s' % (addr.compressed, addr.version,
                                                                  _ip_version_text(family)))
            return None
        return addr.compressed

    def member_port(self, path, value, service_port, forwarding):
        """Port of a real or sorry server: the service port unless given; only nat may remap it."""
        if value is None:
            return service_port
        port = self.integer(path, value, 1, MAX_PORT)
        self.checked(path, check.member_port, port, service_port, forwarding)
        return port

    # -- keepalived: health checks and sorry server ------------------------------------------------
    def health_check(self, path, value, service_port, real_servers):
        result = dict(HEALTH_CHECK_DEFAULTS)
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            self.err(path, 'must be a mapping (dict), got %s' % type_name(value))
            return result
        self.unknown_keys(path, value, HEALTH_CHECK_KEYS)
        portless = service_port is None and any(rs['port'] is None for rs in real_servers)
        # A fwmark service whose real servers have no port cannot be connect-checked: default to none.
        kind = self.choice(path + '.type', value.get('type', 'none' if portless else result['type']),
                           HEALTH_CHECK_TYPES, 'health check type')
        result['type'] = kind
        for key, (low, high) in HEALTH_CHECK_RANGES.items():
            if key in value:
                result[key] = self.integer('%s.%s' % (path, key), value[key], low, high)
        check_path = self.checked(path + '.path', check.token, value.get('path', result['path']),
                                  check.HTTP_PATH_RE, HTTP_PATH)
        if check_path is not None:
            result['path'] = check_path
        script = value.get('script')
        if kind == 'misc_check':
            if script is None:
                self.err(path + '.script', 'is required with type misc_check: %s' % SCRIPT)
            else:
                result['script'] = self.checked(path + '.script', check.token, script, check.SCRIPT_RE, SCRIPT)
        elif script is not None:
            self.err(path + '.script', 'is only used with type misc_check (this check is %s)' % kind)
        if kind in ('tcp_check', 'http_get') and portless:
            self.err(path + '.type', '%s needs a port: give this fwmark service\'s real servers a port, '
                     'or use misc_check or none' % kind)
        return result

    def sorry_server(self, path, value, service_port, forwarding, family):
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.err(path, 'must be a mapping {address: ..., port: ...}, got %s' % type_name(value))
            return None
        self.unknown_keys(path, value, SORRY_SERVER_KEYS)
        # Loopback is fine here: keepalived's sorry server may be the director itself (127.0.0.1).
        addr = self.ip(path + '.address', value.get('address'), loopback=True)
        port = self.member_port(path + '.port', value.get('port'), service_port, forwarding)
        if addr is not None and family_of(addr) != family:
            self.err(path + '.address', '%s is IPv%d but the service is %s'
                     % (addr.compressed, addr.version, _ip_version_text(family)))
            return None
        if addr is None:
            return None
        return {'address': addr.compressed, 'port': port}

    # -- real servers ---------------------------------------------------------------------------
    def real_servers(self, label, items, service_port, forwarding, family):
        """family: the vip's (how group members are resolved), or None without a vip."""
        path = label + '.real_servers'
        if items is None:
            self.err(path, 'is required (a non-empty list of {group: ...} or {address: ...} items)')
            return []
        if not _is_list(items):
            self.err(path, 'must be a list, got %s' % type_name(items))
            return []
        if not items:
            self.err(path, 'must not be empty: the service has no real servers')
            return []
        result = []
        for j, item in enumerate(items):
            result.extend(self.real_server_item('%s[%d]' % (path, j), item, service_port, forwarding, family))
        return result

    def real_server_item(self, rpath, item, service_port, forwarding, family):
        if not isinstance(item, Mapping):
            self.err(rpath, 'must be a mapping (dict), got %s' % type_name(item))
            return []
        self.unknown_keys(rpath, item, REAL_SERVER_KEYS)
        group, address = item.get('group'), item.get('address')
        if group is not None and address is not None:
            self.err(rpath, 'has both group and address; use one item per group or address')
            return []
        if group is None and address is None:
            self.err(rpath, 'needs either group (an inventory group) or address (an IP)')
            return []

        port = self.member_port(rpath + '.port', item.get('port'), service_port, forwarding)
        weight = self.integer(rpath + '.weight', item.get('weight', 1), 0, MAX_WEIGHT)
        upper = self.integer(rpath + '.upper_threshold', item.get('upper_threshold', 0), 0, MAX_THRESHOLD)
        lower = self.integer(rpath + '.lower_threshold', item.get('lower_threshold', 0), 0, MAX_THRESHOLD)
        self.checked(rpath + '.lower_threshold', check.lower_threshold, lower, upper)

        def entry(path, addr, host, rs_weight, from_group=False):
            return {'address': addr.compressed if addr is not None else None, 'port': port, 'weight': rs_weight,
                    'upper_threshold': upper, 'lower_threshold': lower, 'host': host, '_ip': addr, '_path': path,
                    '_group': from_group}

        if address is not None:
            addr = self.ip(rpath + '.address', address)
            host = self.address_index().get(addr.compressed) if addr is not None else None
            return [entry(rpath + '.address', addr, host, weight)]
        return self.group_members(rpath, group, entry, weight, family)

    def member_address(self, hpath, host, family):
        """A group member's address in a service of this family (host_address()), or None with the problem recorded."""
        addr, reason = host_address(self.hostvars, host, family)
        if addr is None:
            self.err(hpath, reason)
        return addr

    def group_members(self, rpath, group, entry, item_weight, family):
        if not isinstance(group, str) or not group:
            self.err(rpath + '.group', 'must be an inventory group name, got %s' % describe(group))
            return []
        gpath = '%s (group %s)' % (rpath, group)
        if group not in self.groups:
            self.err(rpath + '.group', 'group %r does not exist in inventory' % str(group))
            return []
        hosts = self.groups[group] or []
        if not _is_list(hosts) or not hosts:
            self.err(rpath + '.group', 'group %r has no hosts: the service would have no real servers here' % str(group))
            return []
        members = []
        for host in hosts:
            hpath = '%s host %s' % (gpath, host)
            addr = self.member_address(hpath, host, family)
            weight = item_weight
            try:
                host_weight = _hostvar(self.hostvars, host, 'lvs_real_server_weight')
            except HostVarError as exc:
                self.err(hpath, str(exc))
                host_weight = None
            if host_weight is not None:
                weight = self.integer(hpath + '.lvs_real_server_weight', host_weight, 0, MAX_WEIGHT)
            members.append(entry(hpath, addr, str(host), weight, from_group=True))
        return members

    def duplicate_real_servers(self, label, real_servers):
        seen = {}
        for rs in real_servers:
            if rs['address'] is None:
                continue
            key = (rs['address'], rs['port'])
            if key in seen:
                self.err(rs['_path'], 'real server %s is listed twice in %s (also at %s)'
                         % (_hostport(*key), label, seen[key]))
            else:
                seen[key] = rs['_path']

    # -- whole list -----------------------------------------------------------------------------
    def run(self, services):
        if services is None:
            services = []
        if not _is_list(services):
            self.err(self.var, 'must be a list of services, got %s' % type_name(services))
            raise ModelError(self.errors)
        result = [svc for svc in (self.service(i, item) for i, item in enumerate(services)) if svc is not None]
        self.duplicates(result)
        if self.errors:
            raise ModelError(self.errors)
        for svc in result:
            del svc['_label']
            for rs in svc['real_servers']:
                del rs['_ip'], rs['_path'], rs['_group']
        return result

    def match_conflicts(self, services):
        """A packet carries one mark: no two services' match may cover the same packets, and a match may not
        cover a vip:port service's traffic (IPVS would give it to the fwmark service)."""
        claims = []  # (service, what it covers as text, {protocols}, [(addr lo, hi)], [(port lo, hi)], family)
        for svc in services:
            if svc['match'] is not None:
                nets = [check.ip_network(text) for text in svc['match']['addresses']]
                ports = [tuple(int(p) for p in (text.split('-') * 2)[:2]) for text in svc['match']['ports']]
                claims.append((svc, 'what the match of %s covers' % svc['_label'], set(svc['match']['protocols']),
                               [(int(n.network_address), int(n.broadcast_address)) for n in nets], ports))
            elif svc['fwmark'] is None and None not in (svc['vip'], svc['port'], svc['protocol']):
                vip = int(check.ip_address(svc['vip']))
                claims.append((svc, '%s %s of %s' % (svc['protocol'], _hostport(svc['vip'], svc['port']), svc['_label']),
                               {svc['protocol']}, [(vip, vip)], [(svc['port'], svc['port'])]))

        def overlap(ranges, others):
            return any(lo <= other_hi and other_lo <= hi for lo, hi in ranges for other_lo, other_hi in others)

        for k, (svc, what, protocols, addrs, ports) in enumerate(claims):
            for other, other_what, other_protocols, other_addrs, other_ports in claims[:k]:
                if svc['match'] is None and other['match'] is None:
                    continue
                if (svc['family'] != other['family'] or not protocols & other_protocols
                        or not overlap(addrs, other_addrs) or not overlap(ports, other_ports)):
                    continue
                marked, by = (svc, other) if svc['match'] is not None else (other, svc)
                self.err(marked['_label'] + '.match', 'covers some of %s too: a packet carries one mark, so the '
                         'matches of fwmark services may overlap neither each other nor a vip:port service'
                         % (other_what if marked is svc else what))

    def duplicates(self, services):
        self.match_conflicts(services)
        names, endpoints, fwmarks = {}, {}, {}
        for svc in services:
            label = svc['_label']
            if svc['name'] is not None:
                if svc['name'] in names:
                    self.err(label + '.name', '%r is already used by %s' % (svc['name'], names[svc['name']]))
                names.setdefault(svc['name'], label)
            if svc['fwmark'] is not None:
                key = (svc['fwmark'], svc['family'])
                if key in fwmarks:
                    self.err(label + '.fwmark', '%d (%s) is already used by %s' % (key + (fwmarks[key],)))
                fwmarks.setdefault(key, label)
            elif svc['vip'] is not None and svc['port'] is not None and svc['protocol'] is not None:
                key = (svc['vip'], svc['port'], svc['protocol'])
                text = '%s/%s' % (_hostport(svc['vip'], svc['port']), svc['protocol'])
                if key in endpoints:
                    self.err(label, 'virtual service %s is already used by %s' % (text, endpoints[key]))
                endpoints.setdefault(key, label)


def normalise_services(services, hostvars, groups, var_name='lvs_virtual_services'):
    """Validate lvs_virtual_services and return the normalised list (docs/data-model.md)."""
    return _Normaliser(hostvars, groups, var_name).run(services)


def _check_normalised(services, what):
    if not _is_list(services) or not all(isinstance(s, Mapping) and _is_list(s.get('real_servers'))
                                         for s in services):
        raise ModelError(['%s expects the output of lvs.cluster.virtual_services (a list of normalised services)'
                          % what])


def services_served_by(services, hostname):
    """Normalised services this inventory host serves, each with its own entry as real_server."""
    _check_normalised(services, 'served_by')
    result = []
    for svc in services:
        mine = next((rs for rs in svc['real_servers'] if rs.get('host') == hostname), None)
        if mine is not None:
            result.append(dict(svc, real_server=dict(mine)))
    return result


def _without_nulls(data):
    return dict((k, v) for k, v in data.items() if v is not None)


def to_ipvs_services(services):
    """Normalised services -> the services option of the lvs.cluster.ipvs module."""
    _check_normalised(services, 'ipvs_services')
    result = []
    for svc in services:
        virtual = {'family': svc['family'], 'scheduler': svc['scheduler'],
                   'scheduler_flags': list(svc['scheduler_flags'] or []),
                   'persistence': svc['persistence'], 'persistence_netmask': svc['persistence_netmask']}
        if svc['fwmark'] is not None:
            # ipvsadm -f: the mark alone identifies the service; address/port/protocol do not apply.
            virtual['fwmark'] = svc['fwmark']
        else:
            virtual.update(protocol=svc['protocol'], address=svc['vip'], port=svc['port'])
        virtual['destinations'] = [
            _without_nulls({'address': rs['address'], 'port': rs['port'], 'forwarding': svc['forwarding'],
                            'weight': rs['weight'], 'upper_threshold': rs['upper_threshold'],
                            'lower_threshold': rs['lower_threshold']})
            for rs in svc['real_servers']]
        result.append(_without_nulls(virtual))
    return result


def to_mark_rules(services):
    """Normalised services -> "FWMARK PROTO ADDRESSES PORTS" marking rules (lvs-netstate's mark items), one per
    protocol of each fwmark service with match."""
    _check_normalised(services, 'mark_rules')
    return ['%d %s %s %s' % (svc['fwmark'], protocol, ','.join(svc['match']['addresses']),
                             ','.join(svc['match']['ports']))
            for svc in services if svc.get('fwmark') is not None and svc.get('match')
            for protocol in svc['match']['protocols']]
