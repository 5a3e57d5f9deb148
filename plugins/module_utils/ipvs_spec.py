# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate the `services` option of lvs.cluster.ipvs and turn it into a canonical table.

Every error names the offending field, e.g. ``services[2].destinations[0].weight``.
Validation is done here rather than by AnsibleModule suboptions so that the message carries
the list indexes, and so that 10,000 real servers are checked quickly.
"""

from __future__ import annotations

import functools

from ansible_collections.lvs.cluster.plugins.module_utils import lvs_validate as check
from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import canonical_flags, hostport, new_dest, new_service
from ansible_collections.lvs.cluster.plugins.module_utils.lvs_validate import (
    FAMILIES, FORWARDINGS, MAX_PERSISTENCE, MAX_PORT, MAX_THRESHOLD, MAX_U32, MAX_WEIGHT, PROTOCOLS, SCHEDULERS,
    Invalid, family_of, type_name,
)

SERVICE_KEYS = ('protocol', 'address', 'port', 'fwmark', 'family', 'scheduler', 'scheduler_flags',
                'persistence', 'persistence_netmask', 'state', 'destinations')
DEST_KEYS = ('address', 'port', 'forwarding', 'weight', 'upper_threshold', 'lower_threshold')
_KEY_SETS = {SERVICE_KEYS: frozenset(SERVICE_KEYS), DEST_KEYS: frozenset(DEST_KEYS)}
_DEST_KEY_SET = _KEY_SETS[DEST_KEYS]


class IpvsInputError(ValueError):
    def __init__(self, path, message):
        ValueError.__init__(self, '%s: %s' % (path, message))
        self.path = path


def _checked(path, check_value, *args, **kwargs):
    """check_value(*args, **kwargs) from lvs_validate, its problem raised as IpvsInputError at path."""
    try:
        return check_value(*args, **kwargs)
    except Invalid as exc:
        raise IpvsInputError(path, str(exc)) from None


def _int(value, path, low, high):
    # Strings of ASCII digits are fine: module arguments often come templated, as text.
    return _checked(path, check.integer, value, low, high, digit_strings=True)


def _folded(value):
    """The module takes choices in any ASCII case ('SH'); other characters are left to fail the check
    (str.lower() would turn the Kelvin sign into a 'k')."""
    return value.lower() if isinstance(value, str) and value.isascii() else value


def _choice(value, default, path, choices, what):
    return default if value is None else _checked(path, check.choice, _folded(value), choices, what)


def _address(value, path):
    """-> (canonical address, family) of a unicast address."""
    try:
        return _address_of(value)
    except Invalid as exc:
        raise IpvsInputError(path, str(exc)) from None


def _address_of(value):
    """_address() raising Invalid (no path)."""
    if isinstance(value, str):
        return _canonical_address(value)
    addr = check.ip_address(value)
    return addr.compressed, family_of(addr)


@functools.lru_cache(maxsize=4096)
def _canonical_address(text):
    """Cached: big tables repeat the same few addresses (a problem raises, and is not cached)."""
    addr = check.ip_address(text)
    return addr.compressed, family_of(addr)


def _check_keys(item, path, allowed):
    if not isinstance(item, dict):
        raise IpvsInputError(path, 'must be a dict, got %s' % type_name(item))
    if item.keys() <= _KEY_SETS[allowed]:  # the usual case, first
        return
    unknown = check.unknown_keys(item, allowed)
    if unknown:
        raise IpvsInputError('%s.%s' % (path, unknown[0]), 'unknown option; valid: %s' % ', '.join(allowed))


def _netmask(value, path, family):
    """Persistence granularity: dotted IPv4 mask (or prefix length) / IPv6 prefix length.

    Returns None for the default (/32, /128), which ipvsadm -S does not print.
    """
    prefix = _checked(path, check.persistence_netmask, value, family, ipv4_prefix=True)
    if family == 'inet6':
        return None if prefix == 128 else str(prefix)
    return None if prefix == 32 else check.ipv4_netmask_text(prefix)


def _flags(value, path, scheduler):
    if value is None:
        return []
    if isinstance(value, str):  # Ansible's list convention: "sh-fallback,sh-port"
        value = [v for v in value.split(',') if v]
    if not isinstance(value, list):
        raise IpvsInputError(path, 'must be a list, got %s' % type_name(value))
    names = []
    for i, name in enumerate(value):
        names.append(_checked('%s[%d]' % (path, i), check.scheduler_flag, _folded(name), scheduler, names))
    return canonical_flags(scheduler, names)


def _destination(item, svc, vip, path, index):
    """Destination `index` of the service at `path` -> (its id, dest). Its own path is only built for an error
    (10,000 real servers: building it costs as much as a check), so each check below says first which field it
    is about."""
    if not isinstance(item, dict) or not item.keys() <= _DEST_KEY_SET:
        _check_keys(item, _dest_path(path, index), DEST_KEYS)
    field = '.address'
    try:
        if item.get('address') is None:
            raise Invalid('is required')
        addr, family = _address_of(item['address'])
        if family != svc['family']:
            raise Invalid('%s is %s but the service is %s' % (addr, family, svc['family']))
        check.not_the_vip(addr, vip)
        field = '.forwarding'
        forwarding = item.get('forwarding')
        forwarding = 'dr' if forwarding is None else check.choice(_folded(forwarding), FORWARDINGS, 'forwarding')
        field = '.port'
        service_port = None if svc['fwmark'] is not None else svc['port']
        port = _opt_int(item, 'port', 0 if service_port is None else service_port, 0 if service_port is None else 1,
                        MAX_PORT)
        # ipvsadm silently uses the service port for dr/tun real servers of address:port services.
        check.member_port(port, service_port, forwarding)
        field = '.upper_threshold'
        upper = _opt_int(item, 'upper_threshold', 0, 0, MAX_THRESHOLD)
        field = '.lower_threshold'
        lower = _opt_int(item, 'lower_threshold', 0, 0, MAX_THRESHOLD)
        check.lower_threshold(lower, upper)
        field = '.weight'
        weight = _opt_int(item, 'weight', 1, 0, MAX_WEIGHT)
    except Invalid as exc:
        raise IpvsInputError(_dest_path(path, index) + field, str(exc)) from None
    return hostport(addr, port, family), new_dest(addr, port, family, forwarding, weight, upper, lower)


def _opt_int(item, key, default, low, high):
    """item[key] as an int in low..high (digit strings too), or default when it is missing; Invalid otherwise."""
    value = item.get(key)
    return default if value is None else check.integer(value, low, high, digit_strings=True)


def _dest_path(path, index):
    return '%s.destinations[%d]' % (path, index)


def _service(item, path):
    _check_keys(item, path, SERVICE_KEYS)
    state = _choice(item.get('state'), 'present', path + '.state', ('present', 'absent'), 'state')
    family = _choice(item.get('family'), None, path + '.family', FAMILIES, 'family')
    addr = addr_family = None
    if item.get('address') is not None:
        addr, addr_family = _address(item['address'], path + '.address')
    if item.get('fwmark') is not None:
        fwmark = _int(item['fwmark'], path + '.fwmark', 1, MAX_U32)
        if family is None:
            family = addr_family or 'inet'
        svc = new_service(fwmark=fwmark, family=family)
    else:
        if addr is None:
            raise IpvsInputError(path + '.address', 'is required unless fwmark is set')
        if item.get('port') is None:
            raise IpvsInputError(path + '.port', 'is required unless fwmark is set')
        if family is not None and family != addr_family:
            raise IpvsInputError(path + '.family', '%s does not match address %s' % (family, addr))
        svc = new_service(_choice(item.get('protocol'), 'tcp', path + '.protocol', PROTOCOLS, 'protocol'),
                          addr, _int(item['port'], path + '.port', 1, MAX_PORT), None, addr_family)
    svc['scheduler'] = _choice(item.get('scheduler'), 'wlc', path + '.scheduler', SCHEDULERS, 'scheduler')
    svc['scheduler_flags'] = _flags(item.get('scheduler_flags'), path + '.scheduler_flags', svc['scheduler'])
    persistence = item.get('persistence')
    if persistence is not None:
        persistence = _int(persistence, path + '.persistence', 0, MAX_PERSISTENCE) or None
    svc['persistence'] = persistence
    if item.get('persistence_netmask') is not None:
        if persistence is None:
            raise IpvsInputError(path + '.persistence_netmask', 'is only valid together with persistence > 0')
        svc['persistence_netmask'] = _netmask(item['persistence_netmask'], path + '.persistence_netmask',
                                              svc['family'])
    dests = item.get('destinations')
    if dests is None:
        dests = []
    if not isinstance(dests, list):
        raise IpvsInputError(path + '.destinations', 'must be a list, got %s' % type_name(dests))
    taken = svc['destinations']
    for i, d in enumerate(dests):
        did, dest = _destination(d, svc, addr, path, i)
        if did in taken:  # every earlier item is in `taken`, in order: its index is its position there
            raise IpvsInputError(_dest_path(path, i), 'duplicate of %s (%s)' % (
                _dest_path(path, list(taken).index(did)), did))
        taken[did] = dest
    return state, svc


def desired_table(services):
    """`services` option -> (desired table in input order, [ids of state=absent services])."""
    if services is None:
        services = []
    if not isinstance(services, list):
        raise IpvsInputError('services', 'must be a list, got %s' % type_name(services))
    desired, absent, first = {}, [], {}
    for i, item in enumerate(services):
        path = 'services[%d]' % i
        state, svc = _service(item, path)
        if svc['id'] in first:
            raise IpvsInputError(path, 'duplicate of %s (%s)' % (first[svc['id']], svc['id']))
        first[svc['id']] = path
        if state == 'absent':
            absent.append(svc['id'])
        else:
            desired[svc['id']] = svc
    return desired, absent


def real_server_addresses(values, path):
    """A list of real server addresses (wait_idle, drained_dir's file names) -> their canonical forms."""
    if not isinstance(values, list):
        raise IpvsInputError(path, 'must be a list, got %s' % type_name(values))
    return [_address(value, '%s[%d]' % (path, i))[0] for i, value in enumerate(values)]


def hold_out(desired, addresses):
    """Weight 0, in every service of `desired`, for the real servers at `addresses` (canonical):
    they take no new connection while established ones go on. -> the addresses found in the table."""
    found = set()
    if not addresses:  # the usual case: no need to look at 10,000 real servers
        return found
    for svc in desired.values():
        for dest in svc['destinations'].values():
            if dest['address'] in addresses:
                dest['weight'] = 0
                found.add(dest['address'])
    return found
