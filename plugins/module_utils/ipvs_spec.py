# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate the `services` option of lvs.cluster.ipvs and turn it into a canonical table.

Every error names the offending field, e.g. ``services[2].destinations[0].weight``.
Validation is done here rather than by AnsibleModule suboptions so that the message carries
the list indexes, and so that 10,000 real servers are checked quickly.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import (
    FORWARDING, MAX_PERSISTENCE, PROTOCOLS, SCHEDULERS, SCHEDULER_FLAGS,
    IpvsParseError, canonical_address, canonical_flags, dest_id, new_dest, new_service,
)

SERVICE_KEYS = ('protocol', 'address', 'port', 'fwmark', 'family', 'scheduler', 'scheduler_flags',
                'persistence', 'persistence_netmask', 'state', 'destinations')
DEST_KEYS = ('address', 'port', 'forwarding', 'weight', 'upper_threshold', 'lower_threshold')


class IpvsInputError(ValueError):
    def __init__(self, path, message):
        ValueError.__init__(self, '%s: %s' % (path, message))
        self.path = path


def _int(value, path, low, high, suffix=''):
    """value as an int in low..high, else IpvsInputError at path + suffix (joined only for an error)."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:  # the usual case, first
        return value
    path += suffix
    if isinstance(value, bool):
        raise IpvsInputError(path, '%r is not an integer' % (value,))
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise IpvsInputError(path, '%r is not an integer' % (value,))
    if not low <= value <= high:
        raise IpvsInputError(path, '%d is outside %d..%d' % (value, low, high))
    return value


def _choice(value, path, choices):
    if not isinstance(value, str) or value.lower() not in choices:
        raise IpvsInputError(path, '%r is not one of %s' % (value, ', '.join(choices)))
    return value.lower()


def _address(value, path, suffix=''):
    """-> (canonical address, family). Cached: big tables repeat the same few addresses."""
    try:
        return canonical_address(str(value).strip())
    except IpvsParseError:
        raise IpvsInputError(path + suffix, '%r is not an IPv4 or IPv6 address' % (value,))


def _check_keys(item, path, allowed):
    if not isinstance(item, dict):
        raise IpvsInputError(path, 'must be a dict, got %s' % type(item).__name__)
    for key in item:
        if key not in allowed:
            raise IpvsInputError('%s.%s' % (path, key), 'unknown option; valid: %s' % ', '.join(allowed))


def _netmask(value, path, family):
    """Persistence granularity: dotted IPv4 mask (or prefix length) / IPv6 prefix length.

    Returns None for the default (/32, /128), which ipvsadm -S does not print.
    """
    if family == 'inet6':
        bits = _int(value, path, 1, 128)
        return None if bits == 128 else str(bits)
    text = str(value).strip()
    try:
        if text.isdigit():
            net = ipaddress.IPv4Network('0.0.0.0/%d' % _int(int(text), path, 1, 32))
        else:
            net = ipaddress.IPv4Network('0.0.0.0/%s' % text)
    except ValueError:
        raise IpvsInputError(path, '%r is not an IPv4 netmask' % (value,))
    return None if net.prefixlen == 32 else str(net.netmask)


def _flags(value, path, scheduler):
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in value.split(',') if v.strip()]
    if not isinstance(value, list):
        raise IpvsInputError(path, 'must be a list')
    for i, name in enumerate(value):
        name = _choice(name, '%s[%d]' % (path, i), SCHEDULER_FLAGS)
        if name[:3] in ('sh-', 'mh-') and name[:2] != scheduler:
            raise IpvsInputError('%s[%d]' % (path, i), '%s needs scheduler %s, not %s' % (name, name[:2], scheduler))
    return canonical_flags(scheduler, [v.lower() for v in value])


def _opt_int(item, key, default, path, low, high):
    """item[key] checked by _int(), or default when missing."""
    value = item.get(key)
    return default if value is None else _int(value, path, low, high, '.' + key)


def _destination(item, path, svc):
    _check_keys(item, path, DEST_KEYS)
    if item.get('address') is None:
        raise IpvsInputError(path + '.address', 'is required')
    addr, family = _address(item['address'], path, '.address')
    if family != svc['family']:
        raise IpvsInputError(path + '.address', '%s is %s but the service is %s' % (addr, family, svc['family']))
    forwarding = item.get('forwarding') or 'dr'
    if forwarding not in FORWARDING:
        forwarding = _choice(forwarding, path + '.forwarding', FORWARDING)
    fwmark = svc['fwmark'] is not None
    port = _opt_int(item, 'port', 0 if fwmark else svc['port'], path, 0 if fwmark else 1, 65535)
    # ipvsadm silently uses the service port for dr/tun real servers of address:port services.
    if not fwmark and forwarding != 'nat' and port != svc['port']:
        raise IpvsInputError(path + '.port', '%d must equal the service port %d for %s forwarding' % (
            port, svc['port'], forwarding))
    return new_dest(addr, port, family, forwarding, _opt_int(item, 'weight', 1, path, 0, 65535),
                    _opt_int(item, 'upper_threshold', 0, path, 0, 65535),
                    _opt_int(item, 'lower_threshold', 0, path, 0, 65535))


def _service(item, path):
    _check_keys(item, path, SERVICE_KEYS)
    state = _choice(item.get('state') or 'present', path + '.state', ('present', 'absent'))
    family = item.get('family')
    if family is not None:
        family = _choice(family, path + '.family', ('inet', 'inet6'))
    addr = addr_family = None
    if item.get('address') is not None:
        addr, addr_family = _address(item['address'], path, '.address')
    if item.get('fwmark') is not None:
        fwmark = _int(item['fwmark'], path + '.fwmark', 1, 4294967295)
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
        svc = new_service(_choice(item.get('protocol') or 'tcp', path + '.protocol', PROTOCOLS),
                          addr, _int(item['port'], path + '.port', 1, 65535), None, addr_family)
    svc['scheduler'] = _choice(item.get('scheduler') or 'wlc', path + '.scheduler', SCHEDULERS)
    svc['scheduler_flags'] = _flags(item.get('scheduler_flags'), path + '.scheduler_flags', svc['scheduler'])
    persistence = item.get('persistence')
    if persistence is not None:
        persistence = _int(persistence, path + '.persistence', 0, MAX_PERSISTENCE) or None
    svc['persistence'] = persistence
    if item.get('persistence_netmask') is not None:
        if persistence is None:
            raise IpvsInputError(path + '.persistence_netmask', 'is only valid with persistence')
        svc['persistence_netmask'] = _netmask(item['persistence_netmask'], path + '.persistence_netmask',
                                              svc['family'])
    dests = item.get('destinations')
    if dests is None:
        dests = []
    if not isinstance(dests, list):
        raise IpvsInputError(path + '.destinations', 'must be a list')
    first = {}
    for i, d in enumerate(dests):
        dpath = '%s.destinations[%d]' % (path, i)
        dest = _destination(d, dpath, svc)
        did = dest_id(dest)
        if did in first:
            raise IpvsInputError(dpath, 'duplicate of %s (%s)' % (first[did], did))
        first[did] = dpath
        svc['destinations'][did] = dest
    return state, svc


def desired_table(services):
    """`services` option -> (desired table in input order, [ids of state=absent services])."""
    if services is None:
        services = []
    if not isinstance(services, list):
        raise IpvsInputError('services', 'must be a list')
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
