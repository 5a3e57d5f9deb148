# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and normalisation of the cluster data model (docs/data-model.md).

Pure Python on purpose: the filters, a keepalived config filter and the verify playbook all reuse it.
Every problem is collected and raised once as ModelError, so operators fix everything in one go.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

NAME_RE = re.compile(r'^[A-Za-z0-9_.-]+$')
PROTOCOLS = ('tcp', 'udp', 'sctp')
SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos')
FORWARDINGS = ('nat', 'dr', 'tun')
# flag -> the scheduler it belongs to (None: generic flag, passed through to any scheduler)
SCHEDULER_FLAGS = {
    'flag-1': None, 'flag-2': None, 'flag-3': None,
    'sh-fallback': 'sh', 'sh-port': 'sh',
    'mh-fallback': 'mh', 'mh-port': 'mh',
}
SERVICE_KEYS = ('name', 'vip', 'port', 'fwmark', 'protocol', 'scheduler', 'scheduler_flags', 'forwarding',
                'persistence', 'persistence_netmask', 'gateway', 'real_servers',
                'health_check', 'sorry_server', 'quorum', 'hysteresis', 'inhibit_on_failure')
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
SORRY_SERVER_KEYS = ('address', 'port')
REAL_SERVER_KEYS = ('group', 'address', 'port', 'weight', 'upper_threshold', 'lower_threshold')
DEFAULTS = {'protocol': 'tcp', 'scheduler': 'wlc', 'forwarding': 'dr'}
MAX_U32 = 4294967295
MAX_PERSISTENCE = 86400 * 31  # ipvsadm's MAX_TIMEOUT
MAX_THRESHOLD = 65535  # same bound as the lvs.cluster.ipvs module
FAMILY = {4: 'inet', 6: 'inet6'}


class ModelError(ValueError):
    """All problems found in the data model; .errors holds one message per problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__('\n'.join(self.errors))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_list(value):
    return isinstance(value, (list, tuple))


def _type_name(value):
    # Ansible 2.19 hands over tagged subclasses (_AnsibleTaggedStr...); name the plain type instead.
    for base, name in ((bool, 'bool'), (int, 'int'), (float, 'float'), (str, 'str'), (Mapping, 'dict'),
                       ((list, tuple), 'list')):
        if isinstance(value, base):
            return name
    return 'null' if value is None else type(value).__name__


def _describe(value):
    if value is None:
        return 'null'
    return '%s %r' % (_type_name(value), value if _type_name(value) != 'str' else str(value))


def _hostport(address, port):
    text = '[%s]' % address if ':' in address else address
    return text if port is None else '%s:%s' % (text, port)


def parse_ip(value):
    """Return an ipaddress object for a usable unicast address, or None."""
    if not isinstance(value, str):
        return None
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if addr.is_unspecified or addr.is_multicast:
        return None
    return addr


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
        raise HostVarError('%s: cannot be read: %s' % (key, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))


def host_address(hostvars, host):
    """Address the director uses for an inventory host: (ip object, None) or (None, reason)."""
    try:
        explicit = _hostvar(hostvars, host, 'lvs_real_server_address')
        ansible_host = _hostvar(hostvars, host, 'ansible_host') if explicit is None else None
    except HostVarError as exc:
        return None, str(exc)
    if explicit is not None:
        addr = parse_ip(explicit)
        if addr is None:
            return None, 'lvs_real_server_address: must be an IPv4 or IPv6 address, got %s' % _describe(explicit)
        return addr, None
    for candidate in (ansible_host, host):
        addr = parse_ip(candidate) if candidate is not None else None
        if addr is not None:
            return addr, None
    return None, ('no IP address: set lvs_real_server_address (ansible_host %s is not an IP address)'
                  % (repr(ansible_host) if ansible_host is not None else 'is unset and the host name'))


class _Normaliser:
    def __init__(self, hostvars, groups, var_name):
        self.hostvars = hostvars if hostvars is not None else {}
        self.groups = groups if groups is not None else {}
        self.var = var_name
        self.errors = []
        self._address_index = None

    def err(self, path, message):
        self.errors.append('%s: %s' % (path, message))

    # -- scalar helpers -------------------------------------------------------------------------
    def integer(self, path, value, low, high):
        if not _is_int(value):
            self.err(path, 'must be an integer %d..%d, got %s' % (low, high, _describe(value)))
            return None
        if not low <= value <= high:
            self.err(path, '%d is outside %d..%d' % (value, low, high))
            return None
        return int(value)

    def choice(self, path, value, allowed, what):
        if not isinstance(value, str) or value not in allowed:
            self.err(path, 'unknown %s %r (one of %s)' % (what, value, ', '.join(allowed)))
            return None
        return str(value)

    def ip(self, path, value):
        addr = parse_ip(value)
        if addr is None:
            self.err(path, 'must be a unicast IPv4 or IPv6 address, got %s' % _describe(value))
        return addr

    def unknown_keys(self, path, item, allowed):
        extra = sorted(str(k) for k in item if k not in allowed)
        if extra:
            self.err(path, 'unknown key(s) %s (allowed: %s)' % (', '.join(extra), ', '.join(allowed)))

    def address_index(self):
        """canonical address -> first inventory host with that address (for address items)."""
        if self._address_index is None:
            self._address_index = {}
            hosts = self.groups.get('all') if isinstance(self.groups, Mapping) else None
            if hosts is None:
                try:
                    hosts = list(self.hostvars)
                except TypeError:
                    hosts = []
            for host in hosts:
                addr, dummy = host_address(self.hostvars, host)
                if addr is not None:
                    self._address_index.setdefault(addr.compressed, str(host))
        return self._address_index

    # -- one service ----------------------------------------------------------------------------
    def service(self, index, item):
        label = '%s[%d]' % (self.var, index)
        if not isinstance(item, Mapping):
            self.err(label, 'must be a mapping (dict), got %s' % _type_name(item))
            return None
        name = item.get('name')
        if isinstance(name, str) and NAME_RE.match(name):
            label = '%s (%s)' % (label, name)
        self.unknown_keys(label, item, SERVICE_KEYS)
        if name is None:
            self.err(label + '.name', 'is required')
        elif not isinstance(name, str) or not NAME_RE.match(name):
            self.err(label + '.name', 'must match [A-Za-z0-9_.-]+, got %s' % _describe(name))
            name = None

        fwmark = item.get('fwmark')
        if fwmark is not None:
            fwmark = self.integer(label + '.fwmark', fwmark, 1, MAX_U32)
        has_fwmark = item.get('fwmark') is not None

        vip = item.get('vip')
        if vip is not None:
            vip = self.ip(label + '.vip', vip)
        elif not has_fwmark:
            self.err(label + '.vip', 'is required (unless fwmark is set)')

        port = item.get('port')
        if port is not None:
            port = self.integer(label + '.port', port, 1, 65535)
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

        real_servers = self.real_servers(label, item.get('real_servers'), port, forwarding)

        # Family comes from the vip; a fwmark service without vip takes it from its first real server.
        family_addr = vip or next((rs['_ip'] for rs in real_servers if rs['_ip'] is not None), None)
        family = FAMILY[family_addr.version] if family_addr is not None else 'inet'
        for rs in real_servers:
            if rs['_ip'] is not None and FAMILY[rs['_ip'].version] != family:
                self.err(rs['_path'], 'address %s is IPv%d but the service is IPv%d (%s)' % (
                    rs['address'], rs['_ip'].version, family_addr.version,
                    'vip %s' % vip.compressed if vip is not None else 'taken from the first real server'))
        self.duplicate_real_servers(label, real_servers)

        netmask = self.persistence_netmask(label + '.persistence_netmask', item.get('persistence_netmask'),
                                           item.get('persistence'), family)
        gateway = self.gateway(label + '.gateway', item.get('gateway'), forwarding, family)
        health_check = self.health_check(label + '.health_check', item.get('health_check'), port, real_servers)
        sorry = self.sorry_server(label + '.sorry_server', item.get('sorry_server'), port, forwarding, family)
        quorum = self.integer(label + '.quorum', item.get('quorum', 1), 1, MAX_U32)
        hysteresis = self.integer(label + '.hysteresis', item.get('hysteresis', 0), 0, MAX_U32)
        if quorum is not None and hysteresis is not None and hysteresis >= quorum:
            self.err(label + '.hysteresis', '%d must be below quorum %d' % (hysteresis, quorum))
        inhibit = item.get('inhibit_on_failure', False)
        if not isinstance(inhibit, bool):
            self.err(label + '.inhibit_on_failure', 'must be true or false, got %s' % _describe(inhibit))

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
            'inhibit_on_failure': bool(inhibit) if isinstance(inhibit, bool) else False,
            '_label': label,
        }

    def scheduler_flags(self, path, flags, scheduler):
        if not _is_list(flags):
            self.err(path, 'must be a list, got %s' % _describe(flags))
            return []
        result = []
        for k, flag in enumerate(flags):
            fpath = '%s[%d]' % (path, k)
            if not isinstance(flag, str) or flag not in SCHEDULER_FLAGS:
                self.err(fpath, 'unknown scheduler flag %r (one of %s)' % (flag, ', '.join(SCHEDULER_FLAGS)))
            elif SCHEDULER_FLAGS[flag] is not None and scheduler is not None and SCHEDULER_FLAGS[flag] != scheduler:
                self.err(fpath, 'flag %s only applies to scheduler %s, not %s' % (flag, SCHEDULER_FLAGS[flag], scheduler))
            elif flag in result:
                self.err(fpath, 'flag %s is listed twice' % flag)
            else:
                result.append(str(flag))
        return result

    def persistence_netmask(self, path, value, persistence, family):
        if value is None:
            return None
        if persistence is None or persistence == 0:
            self.err(path, 'is only valid together with persistence > 0')
            return None
        if family == 'inet6':
            prefix = int(value) if isinstance(value, str) and value.isdigit() else value
            prefix = self.integer(path, prefix, 1, 128)
            return None if prefix is None else str(prefix)
        try:
            addr = ipaddress.IPv4Address(value.strip()) if isinstance(value, str) else None
        except ValueError:
            addr = None
        inverse = (~int(addr)) & 0xFFFFFFFF if addr is not None else None
        if inverse is None or inverse & (inverse + 1):  # the set bits must be contiguous from the left
            self.err(path, 'must be a dotted IPv4 netmask like 255.255.255.0, got %s' % _describe(value))
            return None
        return addr.compressed

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
        if FAMILY[addr.version] != family:
            self.err(path, '%s is IPv%d but the service is %s' % (addr.compressed, addr.version,
                                                                  'IPv4' if family == 'inet' else 'IPv6'))
            return None
        return addr.compressed

    def member_port(self, path, value, service_port, forwarding):
        """Port of a real or sorry server: the service port unless given; only nat may remap it."""
        if value is None:
            return service_port
        port = self.integer(path, value, 1, 65535)
        if port is not None and service_port is not None and port != service_port and forwarding in ('dr', 'tun'):
            self.err(path, '%d must equal the service port %d with forwarding %s (only nat can remap ports)'
                     % (port, service_port, forwarding))
        return port

    # -- keepalived: health checks and sorry server ------------------------------------------------
    def health_check(self, path, value, service_port, real_servers):
        result = dict(HEALTH_CHECK_DEFAULTS)
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            self.err(path, 'must be a mapping (dict), got %s' % _type_name(value))
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
        check_path = value.get('path', result['path'])
        # keepalived reads an unquoted # or ! as the start of a comment, even mid-word.
        if not isinstance(check_path, str) or not check_path.startswith('/') or re.search(r'[\s"\\{}#!]', check_path):
            self.err(path + '.path', 'must be a URL path starting with / without spaces, quotes, '
                     'backslashes, braces, # or !, got %s' % _describe(check_path))
        else:
            result['path'] = str(check_path)
        script = value.get('script')
        if kind == 'misc_check':
            if not isinstance(script, str) or not script.startswith('/') or re.search(r'["\n\\{}]', script):
                self.err(path + '.script', 'is required with type misc_check: an absolute command path plus '
                         'arguments, without double quotes, backslashes, braces or newlines, got %s'
                         % _describe(script))
            else:
                result['script'] = str(script)
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
            self.err(path, 'must be a mapping {address: ..., port: ...}, got %s' % _type_name(value))
            return None
        self.unknown_keys(path, value, SORRY_SERVER_KEYS)
        addr = self.ip(path + '.address', value.get('address'))
        port = self.member_port(path + '.port', value.get('port'), service_port, forwarding)
        if addr is not None and FAMILY[addr.version] != family:
            self.err(path + '.address', '%s is IPv%d but the service is %s'
                     % (addr.compressed, addr.version, 'IPv4' if family == 'inet' else 'IPv6'))
            return None
        if addr is None:
            return None
        return {'address': addr.compressed, 'port': port}

    # -- real servers ---------------------------------------------------------------------------
    def real_servers(self, label, items, service_port, forwarding):
        path = label + '.real_servers'
        if items is None:
            self.err(path, 'is required (a non-empty list of {group: ...} or {address: ...} items)')
            return []
        if not _is_list(items):
            self.err(path, 'must be a list, got %s' % _type_name(items))
            return []
        if not items:
            self.err(path, 'must not be empty: the service has no real servers')
            return []
        result = []
        for j, item in enumerate(items):
            result.extend(self.real_server_item('%s[%d]' % (path, j), item, service_port, forwarding))
        return result

    def real_server_item(self, rpath, item, service_port, forwarding):
        if not isinstance(item, Mapping):
            self.err(rpath, 'must be a mapping (dict), got %s' % _type_name(item))
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
        weight = self.integer(rpath + '.weight', item.get('weight', 1), 0, 65535)
        upper = self.integer(rpath + '.upper_threshold', item.get('upper_threshold', 0), 0, MAX_THRESHOLD)
        lower = self.integer(rpath + '.lower_threshold', item.get('lower_threshold', 0), 0, MAX_THRESHOLD)
        if upper and lower is not None and lower > upper:
            self.err(rpath + '.lower_threshold', '%d is above upper_threshold %d' % (lower, upper))

        def entry(path, addr, host, rs_weight):
            return {'address': addr.compressed if addr is not None else None, 'port': port, 'weight': rs_weight,
                    'upper_threshold': upper, 'lower_threshold': lower, 'host': host, '_ip': addr, '_path': path}

        if address is not None:
            addr = self.ip(rpath + '.address', address)
            host = self.address_index().get(addr.compressed) if addr is not None else None
            return [entry(rpath + '.address', addr, host, weight)]
        return self.group_members(rpath, group, entry, weight)

    def group_members(self, rpath, group, entry, item_weight):
        if not isinstance(group, str) or not group:
            self.err(rpath + '.group', 'must be an inventory group name, got %s' % _describe(group))
            return []
        gpath = '%s (group %s)' % (rpath, group)
        if group not in self.groups:
            self.err(rpath + '.group', 'group %r does not exist in inventory' % group)
            return []
        hosts = self.groups[group] or []
        if not hosts:
            self.err(rpath + '.group', 'group %r has no hosts: the service would have no real servers here' % group)
            return []
        members = []
        for host in hosts:
            hpath = '%s host %s' % (gpath, host)
            addr, reason = host_address(self.hostvars, host)
            if addr is None:
                self.err(hpath, reason)
            weight = item_weight
            try:
                host_weight = _hostvar(self.hostvars, host, 'lvs_real_server_weight')
            except HostVarError as exc:
                self.err(hpath, str(exc))
                host_weight = None
            if host_weight is not None:
                weight = self.integer(hpath + '.lvs_real_server_weight', host_weight, 0, 65535)
            members.append(entry(hpath, addr, str(host), weight))
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
            self.err(self.var, 'must be a list of services, got %s' % _type_name(services))
            raise ModelError(self.errors)
        result = [svc for svc in (self.service(i, item) for i, item in enumerate(services)) if svc is not None]
        self.duplicates(result)
        if self.errors:
            raise ModelError(self.errors)
        for svc in result:
            del svc['_label']
            for rs in svc['real_servers']:
                del rs['_ip'], rs['_path']
        return result

    def duplicates(self, services):
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
