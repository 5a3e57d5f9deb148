# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one validation core of the collection.

Used by the data model (plugins/plugin_utils/model.py), the lvs.cluster.ipvs module's input checker
(plugins/module_utils/ipvs_spec.py), the keepalived settings (plugins/plugin_utils/keepalived.py) and
the roles' scalar settings (check_settings, through the lvs.cluster.check_settings filter).

Plain Python on purpose (no Ansible import): modules import it too. Each check takes a value and returns
its canonical form or raises Invalid(message); the caller puts the field path in front, the model
collecting every problem, the module stopping at the first one.

Rules that hold everywhere:
- strings are matched whole (re.fullmatch) and never stripped first: "www\\n" or " 192.0.2.1" is an error;
- only ASCII digits are digits ("²".isdigit() is True in Python, int("²") raises);
- addresses are unicast: no zone id, not unspecified, multicast, loopback, broadcast, reserved or link-local;
- no value of any type makes a check raise anything but Invalid, and messages never fail to format.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping

PROTOCOLS = ('tcp', 'udp', 'sctp')
SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos')
FORWARDINGS = ('nat', 'dr', 'tun')
FAMILIES = ('inet', 'inet6')
# flag -> the scheduler it belongs to (None: generic flag, passed through to any scheduler)
SCHEDULER_FLAGS = {
    'flag-1': None, 'flag-2': None, 'flag-3': None,
    'sh-fallback': 'sh', 'sh-port': 'sh',
    'mh-fallback': 'mh', 'mh-port': 'mh',
}
MAX_PORT = 65535
MAX_WEIGHT = 65535
MAX_THRESHOLD = 65535
MAX_U32 = 4294967295
MAX_PERSISTENCE = 86400 * 31  # ipvsadm.c MAX_TIMEOUT (31 days)

NAME_RE = re.compile(r'[A-Za-z0-9_.-]+')
DIGITS_RE = re.compile(r'[0-9]+')
DOTTED_QUAD_RE = re.compile(r'[0-9]{1,3}(?:\.[0-9]{1,3}){3}')
# Linux interface names (dev_valid_name: < 16 bytes, no '/', no white space), plus ':' for alias labels.
INTERFACE_RE = re.compile(r'[A-Za-z0-9_.@:-]{1,15}')
SYSCTL_IPVS_RE = re.compile(r'net\.ipv4\.vs\.[a-z_]+')
ABS_PATH_RE = re.compile(r'/[A-Za-z0-9._/+-]*')
# keepalived.conf: an unquoted # or ! starts a comment even mid-word, braces open and close blocks,
# a backslash escapes, $ expands keepalived's own definitions, double quotes delimit.
HTTP_PATH_RE = re.compile(r'/(?:(?![#!"\\{}$])[!-~])*')
SCRIPT_RE = re.compile(r'/(?:(?!["\\{}$])[ -~])*')  # written inside double quotes: spaces are fine
AUTH_PASS_RE = re.compile(r'(?:(?![#!"\\{}$])[!-~]){1,8}')  # VRRP PASS uses 8 bytes
ROUTER_ID_RE = re.compile(r'(?:(?![#!"\\{}$])[!-~]){1,255}')
PORT_RANGE_RE = re.compile(r'([0-9]+)-([0-9]+)')
PREFIX_RE = re.compile(r'([^/]+)/([0-9]+)')

ADDRESS = 'must be a unicast IPv4 or IPv6 address'
NETWORK = 'must be a unicast IPv4 or IPv6 address or a network prefix ADDRESS/LEN'
PORT_OR_RANGE = 'a port 1..65535 or a port range "LOW-HIGH" (LOW < HIGH)'
_MAX_ADDRESS_TEXT = 64  # longer than any address text, even IPv6 with an IPv4 tail
_THIS_NETWORK = ipaddress.IPv4Network('0.0.0.0/8')
_LIMITED_BROADCAST = ipaddress.IPv4Address('255.255.255.255')


class Invalid(ValueError):
    """One problem with one value; the caller adds the field path."""


# -- describing values in messages (never raises) ----------------------------------------------------

def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def type_name(value):
    # Ansible 2.19 hands over tagged subclasses (_AnsibleTaggedStr...); name the plain type instead.
    for base, name in ((bool, 'bool'), (int, 'int'), (float, 'float'), (str, 'str'), (Mapping, 'dict'),
                       ((list, tuple), 'list'), ((bytes, bytearray, memoryview), 'bytes')):
        if isinstance(value, base):
            return name
    return 'null' if value is None else type(value).__name__


def int_text(number):
    """'%d' fails above 4300 digits (sys.int_info.str_digits_check_threshold); say how big instead."""
    if abs(number) < 10 ** 30:
        return '%d' % number
    return '%s%d-bit integer' % ('-' if number < 0 else 'a ', number.bit_length())


def short_repr(value, limit=80):
    """repr() that never raises (huge ints, deep nesting, odd objects) and stays short."""
    if is_int(value):
        return int_text(value)
    try:
        text = repr(str(value) if isinstance(value, str) else value)
    except Exception:  # pylint: disable=broad-exception-caught  # any repr failure: say so, do not crash
        return '<%s that cannot be printed>' % type_name(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def describe(value):
    """'str \\'x\\'', 'int 5', 'null': what was given, for 'must be ..., got <describe>'."""
    return 'null' if value is None else '%s %s' % (type_name(value), short_repr(value))


def key_text(key):
    """A mapping key as it appears in a path: name[key]; quoted when it is not plain printable text,
    so that one problem stays one line."""
    return str(key) if isinstance(key, str) and key.isprintable() and len(key) <= 80 else short_repr(key)


# -- scalars ----------------------------------------------------------------------------------------

def _range_text(low, high):
    return '%s..%s' % (int_text(low), int_text(high)) if high is not None else '>= %s' % int_text(low)


def integer(value, low, high, digit_strings=False):
    """value as an int in low..high (high None: no upper bound). digit_strings: also "80" (ASCII digits)."""
    if type(value) is int:  # pylint: disable=unidiomatic-typecheck  # the usual case, first: no bool, no subclass
        number = value
    elif is_int(value):
        number = int(value)
    elif digit_strings and isinstance(value, str) and DIGITS_RE.fullmatch(value):
        digits = value.lstrip('0') or '0'
        if len(digits) > 30:  # int() refuses very long strings; it is out of any range anyway
            raise Invalid('%s is outside %s' % (short_repr(value), _range_text(low, high)))
        number = int(digits)
    else:
        raise Invalid('must be an integer %s, got %s' % (_range_text(low, high), describe(value)))
    if number < low or (high is not None and number > high):
        raise Invalid('%s is outside %s' % (int_text(number), _range_text(low, high)))
    return number


def port_range(value):
    """A port (an int) or a port range "LOW-HIGH" (ASCII digits, LOW < HIGH), as (low, high)."""
    if is_int(value):
        port = integer(value, 1, MAX_PORT)
        return port, port
    found = PORT_RANGE_RE.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise Invalid('must be %s, got %s' % (PORT_OR_RANGE, describe(value)))
    try:
        low, high = (integer(part, 1, MAX_PORT, digit_strings=True) for part in found.groups())
    except Invalid as exc:
        raise Invalid('range %s: %s' % (short_repr(value), exc)) from None
    if low >= high:
        raise Invalid('range %s: %d is not below %d (a single port is written as a number)'
                      % (short_repr(value), low, high))
    return low, high


def boolean(value):
    if not isinstance(value, bool):
        raise Invalid('must be true or false, got %s' % describe(value))
    return value


def choice(value, allowed, what):
    """One of the allowed strings, exactly (no case folding, no stripping)."""
    if not isinstance(value, str) or value not in allowed:
        raise Invalid('unknown %s %s (one of %s)' % (what, short_repr(value), ', '.join(allowed)))
    return str(value)


def token(value, pattern, what):
    """A string that pattern matches whole; what says in words what it must be."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise Invalid('must be %s, got %s' % (what, describe(value)))
    return str(value)


def name(value):
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise Invalid('must match [A-Za-z0-9_.-]+, got %s' % describe(value))
    return str(value)


def interface(value, allow_empty=False):
    if allow_empty and isinstance(value, str) and value == '':
        return ''
    text = token(value, INTERFACE_RE, 'an interface name (1 to 15 of A-Z a-z 0-9 _ . @ : -)'
                 + (' or empty' if allow_empty else ''))
    if text in ('.', '..'):
        raise Invalid('must be an interface name, got %s' % describe(value))
    return text


def unknown_keys(item, allowed):
    """The keys of a mapping that are not allowed, as sorted path texts."""
    return sorted(key_text(k) for k in item if not (isinstance(k, str) and k in allowed))


# -- addresses --------------------------------------------------------------------------------------

def family_of(addr):
    return 'inet6' if addr.version == 6 else 'inet'


def _not_unicast(addr, loopback):
    """Why addr cannot be a VIP / real server / gateway, or None when it can."""
    if addr.is_loopback:
        return None if loopback else 'loopback'
    if addr.is_unspecified:
        return 'unspecified'
    if addr == _LIMITED_BROADCAST:
        return 'limited broadcast'
    if addr.is_multicast:
        return 'multicast'
    if addr.is_link_local:
        return 'link-local'
    if addr.version == 4 and addr in _THIS_NETWORK:
        return '"this network" 0.0.0.0/8'
    if addr.is_reserved:  # IPv4 240.0.0.0/4; IPv6 ::/8 (IPv4-mapped and -compatible too) and more
        return 'reserved'
    return None


def _expected_address(loopback):
    return ADDRESS + (' (or loopback)' if loopback else '')


@functools.lru_cache(maxsize=4096)
def _parse_address(text, loopback):
    """(address, None) or (None, message). Cached: big tables repeat the same few addresses."""
    if '%' in text:  # ipaddress accepts IPv6 zone ids ("fe80::1%eth0"), which may carry anything
        return None, '%s without a zone id (%%...), got %s' % (_expected_address(loopback), describe(text))
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None, '%s, got %s' % (_expected_address(loopback), describe(text))
    why = _not_unicast(addr, loopback)
    if why is not None:
        return None, '%s, got %s (%s)' % (_expected_address(loopback), addr.compressed, why)
    return addr, None


def ip_address(value, loopback=False):
    """A unicast address as an ipaddress object. loopback=True also allows 127.0.0.0/8 and ::1."""
    if not isinstance(value, str) or len(value) > _MAX_ADDRESS_TEXT:  # long text: not cached, not parsed
        raise Invalid('%s, got %s' % (_expected_address(loopback), describe(value)))
    addr, problem = _parse_address(str(value), bool(loopback))
    if problem is not None:
        raise Invalid(problem)
    return addr


# Where no matched prefix may reach: a prefix is refused when it overlaps one of these, not only when it lies
# inside one (ipaddress's is_multicast & co. on a network are true only when the whole network is).
_NOT_UNICAST_SPACE = tuple((why, ipaddress.ip_network(net)) for why, net in (
    ('loopback', '127.0.0.0/8'), ('multicast', '224.0.0.0/4'), ('link-local', '169.254.0.0/16'),
    ('"this network"', '0.0.0.0/8'), ('reserved', '240.0.0.0/4'),
    ('loopback, unspecified or reserved', '::/8'), ('multicast', 'ff00::/8'), ('link-local', 'fe80::/10'),
    ('reserved', '100::/8'), ('reserved', '200::/7'), ('reserved', '400::/6'), ('reserved', '800::/5'),
    ('reserved', '1000::/4'), ('reserved', '4000::/3'), ('reserved', '6000::/3'), ('reserved', '8000::/3'),
    ('reserved', 'a000::/3'), ('reserved', 'c000::/3'), ('reserved', 'e000::/4'), ('reserved', 'f000::/5'),
    ('reserved', 'f800::/6'), ('reserved', 'fe00::/9')))


def _not_unicast_network(net):
    """Why a prefix (shorter than one address) cannot be matched, or None when it can."""
    for why, space in _NOT_UNICAST_SPACE:
        if space.version == net.version and net.overlaps(space):
            return 'it overlaps %s space %s' % (why, space.compressed)
    return None


def ip_network(value):
    """A unicast address (the rules of ip_address; its /32 or /128 returned) or a prefix ADDRESS/LEN with
    LEN >= 1 and no host bits set, reaching into no loopback, multicast, link-local or reserved space, as an
    ipaddress network."""
    if isinstance(value, str) and '/' not in value:
        return ipaddress.ip_network(ip_address(value))
    found = PREFIX_RE.fullmatch(value) if isinstance(value, str) and len(value) <= _MAX_ADDRESS_TEXT + 4 else None
    if found is None or '%' in value:
        raise Invalid('%s%s, got %s' % (NETWORK, ' without a zone id (%...)' if found else '', describe(value)))
    text, length = found.groups()
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise Invalid('%s, got %s' % (NETWORK, describe(value))) from None
    prefix = int(length)
    if not 1 <= prefix <= addr.max_prefixlen:
        raise Invalid('prefix length %d of %s is outside 1..%d' % (prefix, short_repr(value), addr.max_prefixlen))
    if prefix == addr.max_prefixlen:  # one address: the same rules as any other address
        return ipaddress.ip_network(ip_address(text))
    net = ipaddress.ip_network((addr, prefix), strict=False)
    if net.network_address != addr:
        raise Invalid('%s has host bits set: the network is %s (or write %s for that one address)'
                      % (short_repr(value), net.compressed, addr.compressed))
    why = _not_unicast_network(net)
    if why is not None:
        raise Invalid('%s, got %s (%s)' % (NETWORK, net.compressed, why))
    return net


def not_the_vip(addr, vip):
    """A real server cannot be the virtual service's own address: the director would send to itself."""
    if vip is not None and addr == vip:
        raise Invalid('%s is the virtual service\'s own address (vip); a real server must be another address'
                      % addr)


def persistence_netmask(value, family, ipv4_prefix=False):
    """Persistence granularity as a prefix length: IPv6 1..128; IPv4 a contiguous dotted netmask
    (or, with ipv4_prefix, a prefix length 1..32). ipaddress alone would turn a host mask such as
    0.0.0.255 into a netmask, hence the explicit check of the bits."""
    if family == 'inet6':
        return integer(value, 1, 128, digit_strings=True)
    if ipv4_prefix and (is_int(value) or (isinstance(value, str) and DIGITS_RE.fullmatch(value))):
        return integer(value, 1, 32, digit_strings=True)
    prefix = _dotted_netmask_prefix(value)
    if prefix is None:
        raise Invalid('must be a dotted IPv4 netmask like 255.255.255.0%s, got %s'
                      % (' or a prefix length 1..32' if ipv4_prefix else '', describe(value)))
    return prefix


def _dotted_netmask_prefix(value):
    if not isinstance(value, str) or not DOTTED_QUAD_RE.fullmatch(value):
        return None
    try:
        mask = int(ipaddress.IPv4Address(value))
    except ValueError:
        return None
    inverse = ~mask & 0xFFFFFFFF
    if mask == 0 or inverse & (inverse + 1):  # the set bits must be contiguous from the left
        return None
    return 32 - inverse.bit_length()


def ipv4_netmask_text(prefix):
    return str(ipaddress.IPv4Network('0.0.0.0/%d' % prefix).netmask)


# -- rules shared by the model and the module ---------------------------------------------------------

def scheduler_flag(flag, scheduler, earlier=()):
    """One scheduler flag; scheduler None (itself invalid) skips the pairing check."""
    if not isinstance(flag, str) or flag not in SCHEDULER_FLAGS:
        raise Invalid('unknown scheduler flag %s (one of %s)' % (short_repr(flag), ', '.join(SCHEDULER_FLAGS)))
    owner = SCHEDULER_FLAGS[flag]
    if owner is not None and scheduler is not None and owner != scheduler:
        raise Invalid('flag %s only applies to scheduler %s, not %s' % (flag, owner, scheduler))
    if flag in earlier:
        raise Invalid('flag %s is listed twice' % flag)
    return str(flag)


def lower_threshold(lower, upper):
    """The lower threshold must not exceed a set (non-zero) upper one; either None means already invalid."""
    if upper and lower is not None and lower > upper:
        raise Invalid('%d is above upper_threshold %d' % (lower, upper))
    return lower


def member_port(port, service_port, forwarding):
    """Only nat can remap ports: a dr/tun real (or sorry) server port must equal the service port."""
    if port is not None and service_port is not None and port != service_port and forwarding in ('dr', 'tun'):
        raise Invalid('%d must equal the service port %d with forwarding %s (only nat can remap ports)'
                      % (port, service_port, forwarding))
    return port


# -- role settings ----------------------------------------------------------------------------------

def _int_setting(value, options):
    return integer(value, options.get('min', 0), options.get('max'), digit_strings=True)


def _choice_setting(value, options):
    choices = options.get('choices')
    if not isinstance(choices, (list, tuple)):
        raise Invalid('cannot be checked: choices must be a list, got %s' % describe(choices))
    if not any(_same_choice(value, c) for c in choices):
        raise Invalid('must be one of %s, got %s' % (', '.join(short_repr(c) for c in choices), describe(value)))
    return value


def _same_choice(value, candidate):
    if isinstance(candidate, str) or isinstance(value, str):
        return isinstance(candidate, str) and isinstance(value, str) and value == candidate
    return isinstance(value, bool) == isinstance(candidate, bool) and value == candidate


def _text_setting(value, options):
    if not isinstance(value, str):
        raise Invalid('must be a string, got %s' % describe(value))
    return value


def _abs_path_setting(value, options):
    text = token(value, ABS_PATH_RE, 'an absolute path of A-Z a-z 0-9 . _ / + - characters')
    if '..' in text.split('/'):
        raise Invalid('must be an absolute path without .. components, got %s' % describe(value))
    return text


def _token_setting(value, options):
    pattern = options.get('pattern')
    try:
        compiled = re.compile(pattern)
    except (TypeError, re.error) as exc:
        raise Invalid('cannot be checked: pattern %s is not a regular expression (%s)' % (short_repr(pattern), exc))
    return token(value, compiled, options.get('what') or 'a string matching %s' % pattern)


def _port_list_problems(name, value):
    if not isinstance(value, (list, tuple)) or not value:
        return ['%s: must be a non-empty list of ports 1..65535, got %s' % (name, describe(value))]
    problems, seen = [], set()
    for index, item in enumerate(value):
        try:
            port = integer(item, 1, MAX_PORT, digit_strings=True)
        except Invalid as exc:
            problems.append('%s[%d]: %s' % (name, index, exc))
            continue
        if port in seen:
            problems.append('%s[%d]: port %d is listed twice' % (name, index, port))
        seen.add(port)
    return problems


def _sysctl_map_problems(name, value):
    if not isinstance(value, Mapping):
        return ['%s: must be a mapping of net.ipv4.vs.<name> to a number, got %s' % (name, describe(value))]
    problems = []
    for key, item in value.items():
        path = '%s[%s]' % (name, key_text(key))
        if not isinstance(key, str) or not SYSCTL_IPVS_RE.fullmatch(key):
            problems.append('%s: the key must be net.ipv4.vs.<name> (a-z and _), got %s' % (path, describe(key)))
        try:
            integer(item, 0, None, digit_strings=True)
        except Invalid as exc:
            problems.append('%s: %s' % (path, exc))
    return problems


# kind -> check(value, options) for the scalar kinds; list and mapping kinds report per item.
SETTING_KINDS = {
    'interface': lambda value, options: interface(value),
    'interface_or_empty': lambda value, options: interface(value, allow_empty=True),
    'int': _int_setting,
    'bool': lambda value, options: boolean(value),
    'choice': _choice_setting,
    'abs_path': _abs_path_setting,
    'text': _text_setting,
    'token': _token_setting,
}
SETTING_LISTS = {'port_list': _port_list_problems, 'sysctl_map': _sysctl_map_problems}


def check_settings(settings):
    """Role variables [{name, value, kind, ...options}] -> ['<name>: <message>', ...] (empty: all good)."""
    if not isinstance(settings, (list, tuple)):
        return ['settings: must be a list of {name, value, kind} items, got %s' % describe(settings)]
    problems = []
    for index, entry in enumerate(settings):
        problems.extend(_setting_problems(index, entry))
    return problems


def _setting_problems(index, entry):
    if not isinstance(entry, Mapping):
        return ['settings[%d]: must be a mapping {name, value, kind}, got %s' % (index, type_name(entry))]
    var = entry.get('name')
    if not isinstance(var, str) or not var:
        return ['settings[%d].name: must be the name of the variable, got %s' % (index, describe(var))]
    kind = entry.get('kind')
    value = entry.get('value')
    if isinstance(kind, str) and kind in SETTING_LISTS:
        return SETTING_LISTS[kind](var, value)
    if not isinstance(kind, str) or kind not in SETTING_KINDS:
        return ['%s: cannot be checked: unknown kind %s (one of %s)'
                % (var, short_repr(kind), ', '.join(sorted(list(SETTING_KINDS) + list(SETTING_LISTS))))]
    try:
        SETTING_KINDS[kind](value, entry)
    except Invalid as exc:
        return ['%s: %s' % (var, exc)]
    return []
