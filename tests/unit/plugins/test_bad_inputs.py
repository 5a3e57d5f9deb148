# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input, one table, every way in: the data model (what the roles validate), the lvs.cluster.ipvs module
called directly (ipvs_spec.desired_table, and a handful through the module's main() against the fake
ipvsadm), the keepalived settings and the roles' settings (check_settings).

Each row names one rule; each of its entries gives an input, the EXACT field path the message must start
with and the gist of the message. A rule that applies to the module has a module entry, so the module used
directly rejects what the roles reject. Nothing but ModelError / IpvsInputError may come out.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_spec import IpvsInputError, desired_table
from ansible_collections.lvs.cluster.plugins.module_utils.lvs_validate import check_settings
from ansible_collections.lvs.cluster.plugins.modules import ipvs as ipvs_module
from ansible_collections.lvs.cluster.plugins.plugin_utils.keepalived import keepalived_config
from ansible_collections.lvs.cluster.plugins.plugin_utils.model import ModelError, normalise_services


def _module_fixtures():
    """kernel / background / run_module from tests/unit/plugins/modules/conftest.py, which imports
    fake_ipvsadm from its own directory. Loaded under a name of its own, so pytest's conftest is untouched."""
    directory = Path(__file__).resolve().parent / 'modules'
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    spec = importlib.util.spec_from_file_location('lvs_bad_inputs_module_fixtures', directory / 'conftest.py')
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    return fixtures


_FIXTURES = _module_fixtures()
kernel, background, run_module = _FIXTURES.kernel, _FIXTURES.background, _FIXTURES.run_module

ZONE = "2001:db8::1%x';echo INJECTED;'"
HUGE = 10 ** 5000  # str() of it raises in Python 3.11: messages must not try

# -- the data model -------------------------------------------------------------------------------------

HOSTVARS = {
    'web1': {'ansible_host': '192.0.2.11'},
    'web2': {'ansible_host': '192.0.2.12'},
    'v6a': {'lvs_real_server_address': '2001:db8::a'},
    'zoned': {'lvs_real_server_address': 'fe80::1%eth0'},
    'padded': {'lvs_real_server_address': ' 192.0.2.13'},
    'linklocal': {'ansible_host': 'fe80::1%eth0'},
    'holds-vip': {'ansible_host': '192.0.2.100'},
    'heavy': {'ansible_host': '192.0.2.14', 'lvs_real_server_weight': '\u00b2'},
    # lvs_real_server_address6: read in IPv6 services only
    'v4in6': {'ansible_host': '192.0.2.31', 'lvs_real_server_address6': '192.0.2.31'},
    'zoned6': {'ansible_host': '192.0.2.32', 'lvs_real_server_address6': ZONE},
    'newline6': {'ansible_host': '192.0.2.33', 'lvs_real_server_address6': '2001:db8::33\n'},
    'int6': {'ansible_host': '192.0.2.34', 'lvs_real_server_address6': 3221225985},
}
GROUPS = {
    'all': list(HOSTVARS),
    'lvs_real_servers': ['web1', 'web2'],
    'v6': ['v6a'],
    'zoned': ['zoned'],
    'padded': ['padded'],
    'linklocal': ['linklocal'],
    'holds-vip': ['holds-vip'],
    'heavy': ['heavy'],
    'v4in6': ['v4in6'],
    'zoned6': ['zoned6'],
    'newline6': ['newline6'],
    'int6': ['int6'],
    'empty': [],
}
P0 = 'lvs_virtual_services[0] (www)'
RS1 = P0 + '.real_servers[1]'
HC = P0 + '.health_check'


def www(**changes):
    """A valid DR service; keyword arguments replace (or, with None, drop) keys."""
    svc = {'name': 'www', 'vip': '192.0.2.100', 'port': 80, 'real_servers': [{'group': 'lvs_real_servers'}]}
    for key, value in changes.items():
        if value is None:
            svc.pop(key, None)
        else:
            svc[key] = value
    return svc


def www6(**changes):
    return www(**dict({'vip': '2001:db8::100', 'real_servers': [{'group': 'v6'}]}, **changes))


def rs(**item):
    """www with a second real server item (an address unless the item says otherwise): real_servers[1]."""
    return www(real_servers=[{'group': 'lvs_real_servers'}, dict({'address': '198.51.100.20'}, **item)])


def nat(**changes):
    return www(**dict({'forwarding': 'nat', 'gateway': '192.0.2.1'}, **changes))


M = P0 + '.match'


def marked(match, **changes):
    """www as a fwmark service (mark 7, vip kept, no port) with the given match."""
    return www(**dict({'fwmark': 7, 'port': None, 'match': match}, **changes))


def model(service, path, gist):
    return ([service] if not isinstance(service, list) else service), path, gist


def address6(host, gist):
    """www6 whose real_servers[1] is the group of the same name as host, a host with a bad lvs_real_server_address6."""
    return model(www6(real_servers=[{'group': 'v6'}, {'group': host}]),
                 '%s (group %s) host %s: lvs_real_server_address6' % (RS1, host, host), gist)


# -- the module ---------------------------------------------------------------------------------------

S0 = 'services[0]'
D1 = S0 + '.destinations[1]'


def svc(**changes):
    """A valid module service with two destinations; keyword arguments replace (or, with None, drop) keys."""
    item = {'address': '192.0.2.100', 'port': 80,
            'destinations': [{'address': '198.51.100.11'}, {'address': '198.51.100.12'}]}
    for key, value in changes.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def svc6(**changes):
    return svc(**dict({'address': '2001:db8::100', 'destinations': [{'address': '2001:db8::a'}]}, **changes))


def dest(**over):
    """svc whose destinations[1] gets the given keys."""
    return svc(destinations=[{'address': '198.51.100.11'}, dict({'address': '198.51.100.12'}, **over)])


def module(service, path, gist):
    return ([service] if not isinstance(service, list) else service), path, gist


class Bad:
    """One rule: the model's and/or the module's (or keepalived's, or a role setting's) bad input for it."""

    def __init__(self, rule, model=None, module=None, keepalived=None, settings=None):
        self.rule, self.model, self.module, self.keepalived, self.settings = rule, model, module, keepalived, settings


BAD = [
    # -- addresses: zone ids, whitespace, non-unicast -----------------------------------------------------
    Bad('vip-zone-id',
        model(www6(vip=ZONE), P0 + '.vip', 'without a zone id'),
        module(svc6(address=ZONE), S0 + '.address', 'without a zone id')),
    Bad('rs-zone-id',
        model(www6(real_servers=[{'group': 'v6'}, {'address': 'fe80::5%eth0'}]), RS1 + '.address', 'without a zone id'),
        module(svc6(destinations=[{'address': '2001:db8::a'}, {'address': '2001:db8::5%eth0'}]), D1 + '.address',
               'without a zone id')),
    Bad('host-var-zone-id',
        model(www6(real_servers=[{'group': 'v6'}, {'group': 'zoned'}]),
              RS1 + ' (group zoned) host zoned', 'lvs_real_server_address: must be a unicast IPv4 or IPv6 address '
              'without a zone id')),
    Bad('host-var-address6-ipv4', address6('v4in6', '192.0.2.31 is not an IPv6 address')),
    Bad('host-var-address6-zone-id', address6('zoned6', 'must be a unicast IPv4 or IPv6 address without a zone id')),
    Bad('host-var-address6-trailing-newline', address6('newline6', "got str '2001:db8::33\\n'")),
    Bad('host-var-address6-int', address6('int6', 'got int 3221225985')),
    Bad('ipv6-service-ipv4-group-member',
        model(www6(real_servers=[{'group': 'v6'}, {'group': 'lvs_real_servers'}]),
              RS1 + ' (group lvs_real_servers) host web1', 'address 192.0.2.11 is IPv4 but the service is IPv6 '
              "(vip 2001:db8::100); set lvs_real_server_address6 to the host's IPv6 address")),
    Bad('ansible-host-link-local-zone',
        model(rs(address=None, group='linklocal'), RS1 + ' (group linklocal) host linklocal',
              "no IP address: set lvs_real_server_address (ansible_host 'fe80::1%eth0' is not a unicast IP")),
    Bad('vip-trailing-newline',
        model(www(vip='192.0.2.100\n'), P0 + '.vip', "got str '192.0.2.100\\n'"),
        module(svc(address='192.0.2.100\n'), S0 + '.address', "got str '192.0.2.100\\n'")),
    Bad('vip-leading-space',
        model(www(vip=' 192.0.2.1'), P0 + '.vip', "got str ' 192.0.2.1'"),
        module(svc(address=' 192.0.2.1'), S0 + '.address', "got str ' 192.0.2.1'")),
    Bad('host-var-leading-space',
        model(rs(address=None, group='padded'), RS1 + ' (group padded) host padded',
              "lvs_real_server_address: must be a unicast IPv4 or IPv6 address, got str ' 192.0.2.13'")),
    Bad('vip-unspecified-v4',
        model(www(vip='0.0.0.0'), P0 + '.vip', '0.0.0.0 (unspecified)'),
        module(svc(address='0.0.0.0'), S0 + '.address', '0.0.0.0 (unspecified)')),
    Bad('vip-unspecified-v6',
        model(www6(vip='::'), P0 + '.vip', ':: (unspecified)'),
        module(svc6(address='::'), S0 + '.address', ':: (unspecified)')),
    Bad('vip-multicast-v4',
        model(www(vip='224.0.0.18'), P0 + '.vip', '224.0.0.18 (multicast)'),
        module(svc(address='224.0.0.18'), S0 + '.address', '224.0.0.18 (multicast)')),
    Bad('vip-multicast-v6',
        model(www6(vip='ff02::1'), P0 + '.vip', 'ff02::1 (multicast)'),
        module(svc6(address='ff02::1'), S0 + '.address', 'ff02::1 (multicast)')),
    Bad('vip-loopback-v4',
        model(www(vip='127.0.0.1'), P0 + '.vip', '127.0.0.1 (loopback)'),
        module(svc(address='127.0.0.1'), S0 + '.address', '127.0.0.1 (loopback)')),
    Bad('vip-loopback-v6',
        model(www6(vip='::1'), P0 + '.vip', '::1 (loopback)'),
        module(svc6(address='::1'), S0 + '.address', '::1 (loopback)')),
    Bad('vip-limited-broadcast',
        model(www(vip='255.255.255.255'), P0 + '.vip', '255.255.255.255 (limited broadcast)'),
        module(svc(address='255.255.255.255'), S0 + '.address', '255.255.255.255 (limited broadcast)')),
    Bad('vip-reserved',
        model(www(vip='240.0.0.1'), P0 + '.vip', '240.0.0.1 (reserved)'),
        module(svc(address='240.0.0.1'), S0 + '.address', '240.0.0.1 (reserved)')),
    Bad('vip-link-local-v4',
        model(www(vip='169.254.0.10'), P0 + '.vip', '169.254.0.10 (link-local)'),
        module(svc(address='169.254.0.10'), S0 + '.address', '169.254.0.10 (link-local)')),
    Bad('vip-link-local-v6',
        model(www6(vip='fe80::10'), P0 + '.vip', 'fe80::10 (link-local)'),
        module(svc6(address='fe80::10'), S0 + '.address', 'fe80::10 (link-local)')),
    Bad('vip-this-network',
        model(www(vip='0.1.2.3'), P0 + '.vip', '0.1.2.3 ("this network" 0.0.0.0/8)'),
        module(svc(address='0.1.2.3'), S0 + '.address', '0.1.2.3 ("this network" 0.0.0.0/8)')),
    Bad('vip-ipv4-mapped',
        model(www6(vip='::ffff:192.0.2.1'), P0 + '.vip', '(reserved)'),
        module(svc6(address='::ffff:192.0.2.1'), S0 + '.address', '(reserved)')),
    Bad('vip-arabic-digits',
        model(www(vip='\u0661\u0669\u0662.0.2.1'), P0 + '.vip', 'must be a unicast IPv4 or IPv6 address, got str'),
        module(svc(address='\u0661\u0669\u0662.0.2.1'), S0 + '.address', 'must be a unicast IPv4 or IPv6 address')),
    Bad('vip-int',
        model(www(vip=3221225985), P0 + '.vip', 'got int 3221225985'),
        module(svc(address=3221225985), S0 + '.address', 'got int 3221225985')),
    Bad('vip-bytes',
        model(www(vip=b'\xc0\x00\x02\x01'), P0 + '.vip', 'got bytes'),
        module(svc(address=b'\xc0\x00\x02\x01'), S0 + '.address', 'got bytes')),
    Bad('vip-with-prefix',
        model(www(vip='192.0.2.100/24'), P0 + '.vip', "got str '192.0.2.100/24'"),
        module(svc(address='192.0.2.100/24'), S0 + '.address', "got str '192.0.2.100/24'")),
    Bad('rs-unspecified',
        model(rs(address='0.0.0.0'), RS1 + '.address', '0.0.0.0 (unspecified)'),
        module(dest(address='0.0.0.0'), D1 + '.address', '0.0.0.0 (unspecified)')),
    Bad('rs-multicast',
        model(rs(address='239.1.1.1'), RS1 + '.address', '239.1.1.1 (multicast)'),
        module(dest(address='239.1.1.1'), D1 + '.address', '239.1.1.1 (multicast)')),
    Bad('rs-loopback',
        model(rs(address='127.0.0.1'), RS1 + '.address', '127.0.0.1 (loopback)'),
        module(dest(address='127.0.0.1'), D1 + '.address', '127.0.0.1 (loopback)')),
    Bad('rs-broadcast',
        model(rs(address='255.255.255.255'), RS1 + '.address', '(limited broadcast)'),
        module(dest(address='255.255.255.255'), D1 + '.address', '(limited broadcast)')),
    Bad('rs-reserved',
        model(rs(address='250.1.2.3'), RS1 + '.address', '250.1.2.3 (reserved)'),
        module(dest(address='250.1.2.3'), D1 + '.address', '250.1.2.3 (reserved)')),
    Bad('rs-link-local',
        model(rs(address='169.254.7.7'), RS1 + '.address', '(link-local)'),
        module(dest(address='169.254.7.7'), D1 + '.address', '(link-local)')),
    Bad('rs-trailing-newline',
        model(rs(address='198.51.100.20\n'), RS1 + '.address', "got str '198.51.100.20\\n'"),
        module(dest(address='198.51.100.12\n'), D1 + '.address', "got str '198.51.100.12\\n'")),
    Bad('rs-is-the-vip',
        model(rs(address='192.0.2.100'), RS1 + '.address', "192.0.2.100 is the virtual service's own address (vip)"),
        module(dest(address='192.0.2.100'), D1 + '.address', "192.0.2.100 is the virtual service's own address")),
    Bad('rs-is-the-vip-ipv6-spelling',
        model(www6(real_servers=[{'group': 'v6'}, {'address': '2001:DB8:0::100'}]), RS1 + '.address',
              "2001:db8::100 is the virtual service's own address"),
        module(svc6(destinations=[{'address': '2001:db8::a'}, {'address': '2001:DB8:0::100'}]), D1 + '.address',
               "2001:db8::100 is the virtual service's own address")),
    Bad('group-member-is-the-vip',
        model(rs(address=None, group='holds-vip'), RS1 + ' (group holds-vip) host holds-vip',
              "192.0.2.100 is the virtual service's own address")),
    Bad('gateway-loopback',
        model(nat(gateway='127.0.0.1'), P0 + '.gateway', '127.0.0.1 (loopback)')),
    Bad('gateway-zone-id',
        model(www6(forwarding='nat', gateway='2001:db8::1%eth0'), P0 + '.gateway', 'without a zone id')),
    Bad('gateway-multicast',
        model(nat(gateway='224.0.0.1'), P0 + '.gateway', '224.0.0.1 (multicast)')),
    Bad('gateway-trailing-newline',
        model(nat(gateway='192.0.2.1\n'), P0 + '.gateway', "got str '192.0.2.1\\n'")),
    Bad('sorry-server-zone-id',
        model(www6(sorry_server={'address': '::1%lo'}), P0 + '.sorry_server.address', 'without a zone id')),
    Bad('sorry-server-unspecified',
        model(www(sorry_server={'address': '0.0.0.0'}), P0 + '.sorry_server.address', '0.0.0.0 (unspecified)')),
    Bad('sorry-server-multicast',
        model(www(sorry_server={'address': '224.0.0.5'}), P0 + '.sorry_server.address', '(multicast)')),
    Bad('sorry-server-link-local',
        model(www6(sorry_server={'address': 'fe80::1'}), P0 + '.sorry_server.address', 'fe80::1 (link-local)')),
    # -- names and choices: whole-string matches ------------------------------------------------------------
    Bad('name-trailing-newline',
        model(www(name='www\n'), 'lvs_virtual_services[0].name', "must match [A-Za-z0-9_.-]+, got str 'www\\n'")),
    Bad('name-leading-space',
        model(www(name=' www'), 'lvs_virtual_services[0].name', "got str ' www'")),
    Bad('name-non-ascii',
        model(www(name='w\u00e9b'), 'lvs_virtual_services[0].name', 'must match [A-Za-z0-9_.-]+')),
    Bad('name-list',
        model(www(name=['www']), 'lvs_virtual_services[0].name', "got list ['www']")),
    Bad('protocol-unknown',
        model(www(protocol='icmp'), P0 + '.protocol', "unknown protocol 'icmp' (one of tcp, udp, sctp)"),
        module(svc(protocol='icmp'), S0 + '.protocol', "unknown protocol 'icmp' (one of tcp, udp, sctp)")),
    Bad('protocol-trailing-newline',
        model(www(protocol='tcp\n'), P0 + '.protocol', "unknown protocol 'tcp\\n'"),
        module(svc(protocol='tcp\n'), S0 + '.protocol', "unknown protocol 'tcp\\n'")),
    Bad('scheduler-trailing-newline',
        model(www(scheduler='wrr\n'), P0 + '.scheduler', "unknown scheduler 'wrr\\n'"),
        module(svc(scheduler='wrr\n'), S0 + '.scheduler', "unknown scheduler 'wrr\\n'")),
    Bad('scheduler-not-a-string',
        model(www(scheduler=5), P0 + '.scheduler', 'unknown scheduler 5'),
        module(svc(scheduler=5), S0 + '.scheduler', 'unknown scheduler 5')),
    Bad('forwarding-unknown',
        model(www(forwarding='masq'), P0 + '.forwarding', "unknown forwarding 'masq' (one of nat, dr, tun)"),
        module(dest(forwarding='masq'), D1 + '.forwarding', "unknown forwarding 'masq' (one of nat, dr, tun)")),
    Bad('forwarding-leading-space',
        model(www(forwarding=' dr'), P0 + '.forwarding', "unknown forwarding ' dr'"),
        module(dest(forwarding=' dr'), D1 + '.forwarding', "unknown forwarding ' dr'")),
    Bad('scheduler-flag-unknown',
        model(www(scheduler='sh', scheduler_flags=['sh-magic']), P0 + '.scheduler_flags[0]',
              "unknown scheduler flag 'sh-magic'"),
        module(svc(scheduler='sh', scheduler_flags=['sh-magic']), S0 + '.scheduler_flags[0]',
               "unknown scheduler flag 'sh-magic'")),
    Bad('scheduler-flag-trailing-newline',
        model(www(scheduler='sh', scheduler_flags=['sh-port\n']), P0 + '.scheduler_flags[0]',
              "unknown scheduler flag 'sh-port\\n'"),
        module(svc(scheduler='sh', scheduler_flags=['sh-port\n']), S0 + '.scheduler_flags[0]',
               "unknown scheduler flag 'sh-port\\n'")),
    Bad('scheduler-flag-wrong-scheduler',
        model(www(scheduler='wrr', scheduler_flags=['sh-port']), P0 + '.scheduler_flags[0]',
              'flag sh-port only applies to scheduler sh, not wrr'),
        module(svc(scheduler='wrr', scheduler_flags=['sh-port']), S0 + '.scheduler_flags[0]',
               'flag sh-port only applies to scheduler sh, not wrr')),
    Bad('scheduler-flag-twice',
        model(www(scheduler='mh', scheduler_flags=['mh-port', 'mh-port']), P0 + '.scheduler_flags[1]',
              'flag mh-port is listed twice'),
        module(svc(scheduler='mh', scheduler_flags=['mh-port', 'mh-port']), S0 + '.scheduler_flags[1]',
               'flag mh-port is listed twice')),
    Bad('scheduler-flags-not-a-list',
        model(www(scheduler='sh', scheduler_flags={'sh-port': True}), P0 + '.scheduler_flags', 'must be a list'),
        module(svc(scheduler='sh', scheduler_flags={'sh-port': True}), S0 + '.scheduler_flags', 'must be a list')),
    # -- integers: types, ASCII digits only, ranges ---------------------------------------------------------
    Bad('port-superscript-two',
        model(www(port='\u00b2'), P0 + '.port', "must be an integer 1..65535, got str '\u00b2'"),
        module(svc(port='\u00b2'), S0 + '.port', "must be an integer 1..65535, got str '\u00b2'")),
    Bad('port-arabic-digits',
        model(www(port='\u0668\u0660'), P0 + '.port', 'must be an integer 1..65535'),
        module(svc(port='\u0668\u0660'), S0 + '.port', 'must be an integer 1..65535')),
    Bad('port-name',
        model(www(port='http'), P0 + '.port', "must be an integer 1..65535, got str 'http'"),
        module(svc(port='http'), S0 + '.port', "must be an integer 1..65535, got str 'http'")),
    Bad('port-trailing-newline',
        model(www(port='80\n'), P0 + '.port', "got str '80\\n'"),
        module(svc(port='80\n'), S0 + '.port', "got str '80\\n'")),
    Bad('port-leading-space',
        model(www(port=' 80'), P0 + '.port', "got str ' 80'"),
        module(svc(port=' 80'), S0 + '.port', "got str ' 80'")),
    Bad('port-bool',
        model(www(port=True), P0 + '.port', 'got bool True'),
        module(svc(port=True), S0 + '.port', 'got bool True')),
    Bad('port-float',
        model(www(port=80.0), P0 + '.port', 'got float 80.0'),
        module(svc(port=80.0), S0 + '.port', 'got float 80.0')),
    Bad('port-zero',
        model(www(port=0), P0 + '.port', '0 is outside 1..65535'),
        module(svc(port=0), S0 + '.port', '0 is outside 1..65535')),
    Bad('port-65536',
        model(www(port=65536), P0 + '.port', '65536 is outside 1..65535'),
        module(svc(port='65536'), S0 + '.port', '65536 is outside 1..65535')),
    Bad('port-huge',
        model(www(port=HUGE), P0 + '.port', 'a 16610-bit integer is outside 1..65535'),
        module(svc(port=HUGE), S0 + '.port', 'a 16610-bit integer is outside 1..65535')),
    Bad('port-huge-digit-string',
        module=module(svc(port='9' * 5000), S0 + '.port', 'is outside 1..65535')),
    Bad('port-dict',
        model(www(port={'number': 80}), P0 + '.port', "got dict {'number': 80}"),
        module(svc(port={'number': 80}), S0 + '.port', "got dict {'number': 80}")),
    Bad('rs-port-superscript',
        model(nat(real_servers=[{'group': 'lvs_real_servers'}, {'address': '198.51.100.20', 'port': '\u00b3'}]),
              RS1 + '.port', "got str '\u00b3'"),
        module(dest(forwarding='nat', port='\u00b3'), D1 + '.port', "got str '\u00b3'")),
    Bad('dr-port-remap',
        model(rs(port=8080), RS1 + '.port', '8080 must equal the service port 80 with forwarding dr'),
        module(dest(port=8080), D1 + '.port', '8080 must equal the service port 80 with forwarding dr')),
    Bad('weight-too-big',
        model(rs(weight=70000), RS1 + '.weight', '70000 is outside 0..65535'),
        module(dest(weight=70000), D1 + '.weight', '70000 is outside 0..65535')),
    Bad('weight-negative',
        model(rs(weight=-1), RS1 + '.weight', '-1 is outside 0..65535'),
        module(dest(weight=-1), D1 + '.weight', '-1 is outside 0..65535')),
    Bad('weight-trailing-newline',
        model(rs(weight='1\n'), RS1 + '.weight', "got str '1\\n'"),
        module(dest(weight='1\n'), D1 + '.weight', "got str '1\\n'")),
    Bad('host-weight-superscript',
        model(rs(address=None, group='heavy'), RS1 + ' (group heavy) host heavy.lvs_real_server_weight',
              "must be an integer 0..65535, got str '\u00b2'")),
    Bad('upper-threshold-too-big',
        model(rs(upper_threshold=65536), RS1 + '.upper_threshold', '65536 is outside 0..65535'),
        module(dest(upper_threshold=65536), D1 + '.upper_threshold', '65536 is outside 0..65535')),
    Bad('lower-above-upper',
        model(rs(upper_threshold=10, lower_threshold=20), RS1 + '.lower_threshold', '20 is above upper_threshold 10'),
        module(dest(upper_threshold=10, lower_threshold=20), D1 + '.lower_threshold',
               '20 is above upper_threshold 10')),
    Bad('fwmark-zero',
        model(www(fwmark=0), P0 + '.fwmark', '0 is outside 1..4294967295'),
        module(svc(fwmark=0), S0 + '.fwmark', '0 is outside 1..4294967295')),
    Bad('fwmark-too-big',
        model(www(fwmark=2 ** 32), P0 + '.fwmark', '4294967296 is outside 1..4294967295'),
        module(svc(fwmark=2 ** 32), S0 + '.fwmark', '4294967296 is outside 1..4294967295')),
    Bad('persistence-over-31-days',
        model(www(persistence=2678401), P0 + '.persistence', '2678401 is outside 0..2678400'),
        module(svc(persistence=2678401), S0 + '.persistence', '2678401 is outside 0..2678400')),
    Bad('persistence-negative',
        model(www(persistence=-1), P0 + '.persistence', '-1 is outside 0..2678400'),
        module(svc(persistence=-1), S0 + '.persistence', '-1 is outside 0..2678400')),
    Bad('persistence-trailing-newline',
        model(www(persistence='300\n'), P0 + '.persistence', "got str '300\\n'"),
        module(svc(persistence='300\n'), S0 + '.persistence', "got str '300\\n'")),
    # -- persistence netmask -------------------------------------------------------------------------------
    Bad('netmask-superscript-ipv6',
        model(www6(persistence=300, persistence_netmask='\u00b2'), P0 + '.persistence_netmask',
              "must be an integer 1..128, got str '\u00b2'"),
        module(svc6(persistence=300, persistence_netmask='\u00b2'), S0 + '.persistence_netmask',
               "must be an integer 1..128, got str '\u00b2'")),
    Bad('netmask-superscript-ipv4',
        model(www(persistence=300, persistence_netmask='\u00b2'), P0 + '.persistence_netmask',
              'must be a dotted IPv4 netmask'),
        module(svc(persistence=300, persistence_netmask='\u00b2'), S0 + '.persistence_netmask',
               'must be a dotted IPv4 netmask like 255.255.255.0 or a prefix length 1..32')),
    Bad('netmask-host-mask',
        model(www(persistence=300, persistence_netmask='0.0.0.255'), P0 + '.persistence_netmask',
              "must be a dotted IPv4 netmask like 255.255.255.0, got str '0.0.0.255'"),
        module(svc(persistence=300, persistence_netmask='0.0.0.255'), S0 + '.persistence_netmask',
               "got str '0.0.0.255'")),
    Bad('netmask-not-contiguous',
        model(www(persistence=300, persistence_netmask='255.0.255.0'), P0 + '.persistence_netmask',
              'must be a dotted IPv4 netmask'),
        module(svc(persistence=300, persistence_netmask='255.0.255.0'), S0 + '.persistence_netmask',
               'must be a dotted IPv4 netmask')),
    Bad('netmask-zero',
        model(www(persistence=300, persistence_netmask='0.0.0.0'), P0 + '.persistence_netmask',
              'must be a dotted IPv4 netmask'),
        module(svc(persistence=300, persistence_netmask='0.0.0.0'), S0 + '.persistence_netmask',
               'must be a dotted IPv4 netmask')),
    Bad('netmask-trailing-newline',
        model(www(persistence=300, persistence_netmask='255.255.255.0\n'), P0 + '.persistence_netmask',
              "got str '255.255.255.0\\n'"),
        module(svc(persistence=300, persistence_netmask='255.255.255.0\n'), S0 + '.persistence_netmask',
               "got str '255.255.255.0\\n'")),
    Bad('netmask-leading-space',
        model(www(persistence=300, persistence_netmask=' 255.255.255.0'), P0 + '.persistence_netmask',
              "got str ' 255.255.255.0'"),
        module(svc(persistence=300, persistence_netmask=' 255.255.255.0'), S0 + '.persistence_netmask',
               "got str ' 255.255.255.0'")),
    Bad('netmask-slash-prefix',
        model(www(persistence=300, persistence_netmask='/24'), P0 + '.persistence_netmask',
              'must be a dotted IPv4 netmask'),
        module(svc(persistence=300, persistence_netmask='/24'), S0 + '.persistence_netmask',
               'must be a dotted IPv4 netmask')),
    Bad('netmask-ipv4-prefix-in-the-model',  # the model takes dotted masks only for IPv4 (docs/data-model.md)
        model(www(persistence=300, persistence_netmask=24), P0 + '.persistence_netmask', 'got int 24')),
    Bad('netmask-ipv4-prefix-33',
        module=module(svc(persistence=300, persistence_netmask=33), S0 + '.persistence_netmask', '33 is outside 1..32')),
    Bad('netmask-ipv6-129',
        model(www6(persistence=300, persistence_netmask=129), P0 + '.persistence_netmask', '129 is outside 1..128'),
        module(svc6(persistence=300, persistence_netmask=129), S0 + '.persistence_netmask',
               '129 is outside 1..128')),
    Bad('netmask-ipv6-zero',
        model(www6(persistence=300, persistence_netmask='0'), P0 + '.persistence_netmask', '0 is outside 1..128'),
        module(svc6(persistence=300, persistence_netmask=0), S0 + '.persistence_netmask', '0 is outside 1..128')),
    Bad('netmask-without-persistence',
        model(www(persistence_netmask='255.255.255.0'), P0 + '.persistence_netmask',
              'is only valid together with persistence > 0'),
        module(svc(persistence_netmask='255.255.255.0'), S0 + '.persistence_netmask',
               'is only valid together with persistence > 0')),
    # -- structure ------------------------------------------------------------------------------------------
    Bad('unknown-key',
        model(www(wieght=1), P0, 'unknown key(s) wieght'),
        module(svc(wieght=1), S0 + '.wieght', 'unknown option')),
    Bad('unknown-non-string-key',
        model([{**www(), 5: 1}], P0, 'unknown key(s) 5'),
        module([{**svc(), 5: 1}], S0 + '.5', 'unknown option')),
    Bad('service-not-a-mapping',
        model(['www'], 'lvs_virtual_services[0]', 'must be a mapping (dict), got str'),
        module(['www'], S0, 'must be a dict, got str')),
    Bad('services-not-a-list',
        model=({'name': 'www'}, 'lvs_virtual_services', 'must be a list of services, got dict'),
        module=({'address': '192.0.2.100'}, 'services', 'must be a list, got dict')),
    Bad('real-servers-not-a-list',
        model(www(real_servers={'group': 'lvs_real_servers'}), P0 + '.real_servers', 'must be a list, got dict'),
        module(svc(destinations={'address': '198.51.100.11'}), S0 + '.destinations', 'must be a list, got dict')),
    Bad('real-server-not-a-mapping',
        model(www(real_servers=[{'group': 'lvs_real_servers'}, '198.51.100.20']), RS1, 'must be a mapping (dict)'),
        module(svc(destinations=[{'address': '198.51.100.11'}, '198.51.100.12']), D1, 'must be a dict, got str')),
    Bad('real-server-twice',
        model(www(real_servers=[{'group': 'lvs_real_servers'}, {'address': '192.0.2.12'}]), RS1 + '.address',
              'real server 192.0.2.12:80 is listed twice'),
        module(dest(address='198.51.100.11'), D1, 'duplicate of services[0].destinations[0]')),
    Bad('service-twice',
        model([www(), www(name='www2')], 'lvs_virtual_services[1] (www2)',
              'virtual service 192.0.2.100:80/tcp is already used by ' + P0),
        module([svc(), svc()], 'services[1]', 'duplicate of services[0]')),
    Bad('family-mismatch',
        model(rs(address='2001:db8::20'), RS1 + '.address', 'address 2001:db8::20 is IPv6 but the service is IPv4'),
        module(dest(address='2001:db8::20'), D1 + '.address', '2001:db8::20 is inet6 but the service is inet')),
    Bad('family-unknown',
        module=module(svc(fwmark=1, family='inet4'), S0 + '.family', "unknown family 'inet4' (one of inet, inet6)")),
    Bad('state-trailing-newline',
        module=module(svc(state='absent\n'), S0 + '.state', "unknown state 'absent\\n' (one of present, absent)")),
    Bad('vip-missing',
        model(www(vip=None), P0 + '.vip', 'is required (unless fwmark is set)'),
        module(svc(address=None), S0 + '.address', 'is required unless fwmark is set')),
    Bad('gateway-without-nat',
        model(www(gateway='192.0.2.1'), P0 + '.gateway', 'is only used with forwarding nat (this service uses dr)')),
    Bad('group-missing',
        model(rs(address=None, group='webz'), RS1 + '.group', "group 'webz' does not exist in inventory")),
    Bad('group-empty',
        model(rs(address=None, group='empty'), RS1 + '.group', "group 'empty' has no hosts")),
    # -- match: what a fwmark service's director marks (nftables sets: no overlaps) ----------------------------
    Bad('match-without-fwmark',
        model(www(match={'ports': [80]}), M,
              'is only used with fwmark (a service with vip and port matches its own traffic)')),
    Bad('match-not-a-mapping',
        model(marked([80]), M, 'must be a mapping {ports: ..., protocols: ..., addresses: ...}, got list')),
    Bad('match-unknown-key',
        model(marked({'ports': [80], 'port': 80}), M, 'unknown key(s) port (allowed: addresses, ports, protocols)')),
    Bad('match-ports-missing',
        model(marked({'protocols': ['tcp']}), M + '.ports',
              'is required: a non-empty list of ports 1..65535 and port ranges "LOW-HIGH"')),
    Bad('match-ports-empty',
        model(marked({'ports': []}), M + '.ports',
              'must not be empty: a list of ports 1..65535 and port ranges "LOW-HIGH"')),
    Bad('match-ports-not-a-list',
        model(marked({'ports': '80'}), M + '.ports',
              'must be a list of ports 1..65535 and port ranges "LOW-HIGH", got str \'80\'')),
    Bad('match-port-zero',
        model(marked({'ports': [0]}), M + '.ports[0]', '0 is outside 1..65535')),
    Bad('match-port-65536',
        model(marked({'ports': [80, 65536]}), M + '.ports[1]', '65536 is outside 1..65535')),
    Bad('match-port-range-reversed',
        model(marked({'ports': ['90-80']}), M + '.ports[0]',
              "range '90-80': 90 is not below 80 (a single port is written as a number)")),
    Bad('match-port-range-of-one',
        model(marked({'ports': ['80-80']}), M + '.ports[0]',
              "range '80-80': 80 is not below 80 (a single port is written as a number)")),
    Bad('match-port-range-above-65535',
        model(marked({'ports': ['80-65536']}), M + '.ports[0]', "range '80-65536': 65536 is outside 1..65535")),
    Bad('match-port-letter-o',
        model(marked({'ports': ['8O']}), M + '.ports[0]',
              'must be a port 1..65535 or a port range "LOW-HIGH" (LOW < HIGH), got str \'8O\'')),
    Bad('match-port-trailing-newline',
        model(marked({'ports': ['80\n']}), M + '.ports[0]',
              'must be a port 1..65535 or a port range "LOW-HIGH" (LOW < HIGH), got str \'80\\n\'')),
    Bad('match-port-range-trailing-newline',
        model(marked({'ports': ['80-90\n']}), M + '.ports[0]', "got str '80-90\\n'")),
    Bad('match-port-superscript',
        model(marked({'ports': ['\u00b2']}), M + '.ports[0]',
              'must be a port 1..65535 or a port range "LOW-HIGH" (LOW < HIGH), got str \'\u00b2\'')),
    Bad('match-port-range-arabic-digits',
        model(marked({'ports': ['\u0668\u0660-90']}), M + '.ports[0]', 'must be a port 1..65535 or a port range')),
    Bad('match-port-bool',
        model(marked({'ports': [True]}), M + '.ports[0]',
              'must be a port 1..65535 or a port range "LOW-HIGH" (LOW < HIGH), got bool True')),
    Bad('match-port-digit-string',  # a single port is an integer, as everywhere in the model
        model(marked({'ports': ['80']}), M + '.ports[0]', "got str '80'")),
    Bad('match-ports-overlap',
        model(marked({'ports': [80, '70-90']}), M + '.ports[1]', '70-90 overlaps 80 (at %s.ports[0])' % M)),
    Bad('match-port-twice',
        model(marked({'ports': [443, 80, 80]}), M + '.ports[2]', '80 is listed twice (also at %s.ports[1])' % M)),
    Bad('match-protocol-twice',
        model(marked({'ports': [80], 'protocols': ['tcp', 'udp', 'tcp']}), M + '.protocols[2]',
              'tcp is listed twice (also at %s.protocols[0])' % M)),
    Bad('match-protocol-unknown',
        model(marked({'ports': [80], 'protocols': ['icmp']}), M + '.protocols[0]',
              "unknown protocol 'icmp' (one of tcp, udp, sctp)")),
    Bad('match-protocols-empty',
        model(marked({'ports': [80], 'protocols': []}), M + '.protocols',
              'must not be empty: a list of tcp, udp, sctp (leave it out for tcp)')),
    Bad('match-address-host-bits',
        model(marked({'ports': [80], 'addresses': ['192.0.2.1/24']}), M + '.addresses[0]',
              "'192.0.2.1/24' has host bits set: the network is 192.0.2.0/24 "
              '(or write 192.0.2.1 for that one address)')),
    Bad('match-address-loopback',
        model(marked({'ports': [80], 'addresses': ['127.0.0.1']}), M + '.addresses[0]',
              'must be a unicast IPv4 or IPv6 address, got 127.0.0.1 (loopback)')),
    Bad('match-prefix-loopback',
        model(marked({'ports': [80], 'addresses': ['127.0.0.0/8']}), M + '.addresses[0]',
              'must be a unicast IPv4 or IPv6 address or a network prefix ADDRESS/LEN, got 127.0.0.0/8 (it overlaps loopback space 127.0.0.0/8)')),
    Bad('match-prefix-multicast',
        model(marked({'ports': [80], 'addresses': ['224.0.0.0/24']}), M + '.addresses[0]',
              'must be a unicast IPv4 or IPv6 address or a network prefix ADDRESS/LEN, got 224.0.0.0/24 (it overlaps multicast space 224.0.0.0/4)')),
    Bad('match-prefix-this-network',
        model(marked({'ports': [80], 'addresses': ['0.0.0.0/8']}), M + '.addresses[0]',
              'got 0.0.0.0/8 (it overlaps "this network" space 0.0.0.0/8)')),
    # a prefix that only reaches into such space is refused too, not only one inside it
    Bad('match-prefix-reaching-loopback',
        model(marked({'ports': [80], 'addresses': ['126.0.0.0/7']}), M + '.addresses[0]',
              'got 126.0.0.0/7 (it overlaps loopback space 127.0.0.0/8)')),
    Bad('match-prefix-reaching-link-local',
        model(marked({'ports': [80], 'addresses': ['160.0.0.0/4']}), M + '.addresses[0]',
              'got 160.0.0.0/4 (it overlaps link-local space 169.254.0.0/16)')),
    Bad('match-prefix6-reaching-multicast',
        model(marked({'ports': [80], 'addresses': ['fe00::/7']}, vip='2001:db8::100', real_servers=[{'group': 'v6'}]),
              M + '.addresses[0]',
              'got fe00::/7 (it overlaps multicast space ff00::/8)')),
    Bad('match-too-many-ports',
        model(marked({'ports': list(range(1, 66))}), M + '.ports',
              'has 65 items; at most 64 (port ranges and prefixes cover more in one item)')),
    Bad('match-covers-a-vip-port-service',
        model([www(), dict(marked({'ports': ['1-100'], 'addresses': ['192.0.2.0/24']}), name='shop')],
              'lvs_virtual_services[1] (shop).match',
              'covers some of tcp 192.0.2.100:80 of lvs_virtual_services[0] (www) too')),
    Bad('match-covers-another-match',
        model([dict(marked({'ports': [80]}), name='a'),
               dict(marked({'ports': ['70-90'], 'protocols': ['udp', 'tcp']}), name='b', fwmark=8)],
              'lvs_virtual_services[1] (b).match',
              'covers some of what the match of lvs_virtual_services[0] (a) covers too')),
    Bad('match-prefix-length-zero',
        model(marked({'ports': [80], 'addresses': ['0.0.0.0/0']}), M + '.addresses[0]',
              "prefix length 0 of '0.0.0.0/0' is outside 1..32")),
    Bad('match-prefix-zone-id',
        model(marked({'ports': [80], 'addresses': ['fe80::%eth0/64']}, vip='2001:db8::100',
                     real_servers=[{'group': 'v6'}]), M + '.addresses[0]', 'without a zone id')),
    Bad('match-prefix-trailing-newline',
        model(marked({'ports': [80], 'addresses': ['192.0.2.0/24\n']}), M + '.addresses[0]',
              "must be a unicast IPv4 or IPv6 address or a network prefix ADDRESS/LEN, got str '192.0.2.0/24\\n'")),
    Bad('match-address-other-family',
        model(marked({'ports': [80], 'addresses': ['192.0.2.100', '2001:db8::1']}), M + '.addresses[1]',
              'address 2001:db8::1 is IPv6 but the service is IPv4 (vip 192.0.2.100)')),
    Bad('match-prefixes-overlap',
        model(marked({'ports': [80], 'addresses': ['192.0.2.0/24', '198.51.100.7', '192.0.2.128/25']}),
              M + '.addresses[2]', '192.0.2.128/25 overlaps 192.0.2.0/24 (at %s.addresses[0])' % M)),
    Bad('match-address-in-a-prefix',
        model(marked({'ports': [80], 'addresses': ['192.0.2.100', '192.0.2.96/28']}), M + '.addresses[1]',
              '192.0.2.96/28 overlaps 192.0.2.100 (at %s.addresses[0])' % M)),
    Bad('match-addresses-missing-without-vip',
        model(marked({'ports': [80]}, vip=None), M + '.addresses',
              'is required: a non-empty list of unicast addresses and prefixes ADDRESS/LEN '
              '(the service has no vip to default to)')),
    # -- strings that reach keepalived.conf ------------------------------------------------------------------
    Bad('health-check-path-trailing-newline',
        model(www(health_check={'type': 'http_get', 'path': '/healthz\n'}), HC + '.path',
              "got str '/healthz\\n'")),
    Bad('health-check-path-hash',
        model(www(health_check={'type': 'http_get', 'path': '/a#b'}), HC + '.path', 'must be a URL path')),
    Bad('health-check-script-newline',
        model(www(health_check={'type': 'misc_check', 'script': '/bin/true\nvirtual_server'}), HC + '.script',
              "got str '/bin/true\\nvirtual_server'")),
    Bad('health-check-script-carriage-return',
        model(www(health_check={'type': 'misc_check', 'script': '/bin/true\r'}), HC + '.script',
              'must be an absolute command path')),
    Bad('health-check-status-superscript',
        model(www(health_check={'type': 'http_get', 'status_code': '\u00b2'}), HC + '.status_code',
              "must be an integer 100..599, got str '\u00b2'")),
    Bad('inhibit-string',
        model(www(inhibit_on_failure='yes'), P0 + '.inhibit_on_failure', "must be true or false, got str 'yes'")),
    Bad('keepalived-interface-trailing-newline',
        keepalived=({'interface': 'eth0\n'}, 'keepalived_interface', "got str 'eth0\\n'")),
    Bad('keepalived-sync-interface-leading-space',
        keepalived=({'sync_interface': ' eth1'}, 'keepalived_sync_interface', "got str ' eth1'")),
    Bad('keepalived-auth-pass-trailing-newline',
        keepalived=({'auth_pass': 'secret\n'}, 'keepalived_auth_pass', '(value hidden)')),
    Bad('keepalived-router-id-zone-id',
        keepalived=({'virtual_router_ids': {'192.0.2.100%eth0': 5}}, 'keepalived_virtual_router_ids[192.0.2.100%eth0]',
                    'is not a VIP or NAT gateway')),
    Bad('keepalived-priority-superscript',
        keepalived=({'priority': '\u00b2'}, 'keepalived_priority', "must be an integer 1..254, got str '\u00b2'")),
    Bad('keepalived-priority-huge',
        keepalived=({'priority': HUGE}, 'keepalived_priority', 'a 16610-bit integer is outside 1..254')),
    # -- role settings (check_settings) --------------------------------------------------------------------
    Bad('setting-interface-trailing-newline',
        settings=({'name': 'director_vip_interface', 'value': 'eth0\n', 'kind': 'interface_or_empty'},
                  'director_vip_interface', "got str 'eth0\\n'")),
    Bad('setting-interface-dot',
        settings=({'name': 'director_vip_interface', 'value': '.', 'kind': 'interface'},
                  'director_vip_interface', "must be an interface name, got str '.'")),
    Bad('setting-interface-empty',
        settings=({'name': 'keepalived_interface', 'value': '', 'kind': 'interface'},
                  'keepalived_interface', "got str ''")),
    Bad('setting-int-superscript',
        settings=({'name': 'director_drain_timeout', 'value': '\u00b2', 'kind': 'int', 'min': 0, 'max': 86400},
                  'director_drain_timeout', "must be an integer 0..86400, got str '\u00b2'")),
    Bad('setting-int-trailing-newline',
        settings=({'name': 'director_drain_timeout', 'value': '30\n', 'kind': 'int'},
                  'director_drain_timeout', "must be an integer >= 0, got str '30\\n'")),
    Bad('setting-int-too-big',
        settings=({'name': 'director_drain_timeout', 'value': '86401', 'kind': 'int', 'max': 86400},
                  'director_drain_timeout', '86401 is outside 0..86400')),
    Bad('setting-int-bool',
        settings=({'name': 'director_drain_timeout', 'value': True, 'kind': 'int'},
                  'director_drain_timeout', 'got bool True')),
    Bad('setting-bool-string',
        settings=({'name': 'director_purge', 'value': 'yes', 'kind': 'bool'},
                  'director_purge', "must be true or false, got str 'yes'")),
    Bad('setting-choice-trailing-newline',
        settings=({'name': 'lvs_director_ha', 'value': 'keepalived\n', 'kind': 'choice',
                   'choices': ['none', 'keepalived']},
                  'lvs_director_ha', "must be one of 'none', 'keepalived', got str 'keepalived\\n'")),
    Bad('setting-port-list-item',
        settings=({'name': 'web_ports', 'value': [80, '\u00b2'], 'kind': 'port_list'},
                  'web_ports[1]', "must be an integer 1..65535, got str '\u00b2'")),
    Bad('setting-port-list-empty',
        settings=({'name': 'web_ports', 'value': [], 'kind': 'port_list'},
                  'web_ports', 'must be a non-empty list of ports 1..65535')),
    Bad('setting-port-list-string',
        settings=({'name': 'web_ports', 'value': '80', 'kind': 'port_list'},
                  'web_ports', "must be a non-empty list of ports 1..65535, got str '80'")),
    Bad('setting-abs-path-relative',
        settings=({'name': 'director_rules_path', 'value': 'etc/ipvsadm.rules', 'kind': 'abs_path'},
                  'director_rules_path', 'must be an absolute path')),
    Bad('setting-abs-path-dotdot',
        settings=({'name': 'director_rules_path', 'value': '/etc/../root/x', 'kind': 'abs_path'},
                  'director_rules_path', 'without .. components')),
    Bad('setting-abs-path-newline',
        settings=({'name': 'director_rules_path', 'value': '/etc/ipvsadm.rules\n', 'kind': 'abs_path'},
                  'director_rules_path', "got str '/etc/ipvsadm.rules\\n'")),
    Bad('setting-text-not-a-string',
        settings=({'name': 'web_page_content', 'value': ['x'], 'kind': 'text'},
                  'web_page_content', "must be a string, got list ['x']")),
    Bad('setting-sysctl-key',
        settings=({'name': 'director_ipvs_sysctls', 'value': {'net.ipv4.ip_forward': 1}, 'kind': 'sysctl_map'},
                  'director_ipvs_sysctls[net.ipv4.ip_forward]', 'the key must be net.ipv4.vs.<name>')),
    Bad('setting-sysctl-key-newline',
        settings=({'name': 'director_ipvs_sysctls', 'value': {'net.ipv4.vs.conntrack\n': 1}, 'kind': 'sysctl_map'},
                  "director_ipvs_sysctls['net.ipv4.vs.conntrack\\n']", 'the key must be net.ipv4.vs.<name>')),
    Bad('setting-sysctl-value',
        settings=({'name': 'director_ipvs_sysctls', 'value': {'net.ipv4.vs.conntrack': '1 2'}, 'kind': 'sysctl_map'},
                  'director_ipvs_sysctls[net.ipv4.vs.conntrack]', "must be an integer >= 0, got str '1 2'")),
    Bad('setting-token-trailing-newline',
        settings=({'name': 'web_server_name', 'value': 'web1\n', 'kind': 'token', 'pattern': '[a-z0-9]+'},
                  'web_server_name', "must be a string matching [a-z0-9]+, got str 'web1\\n'")),
    Bad('setting-unknown-kind',
        settings=({'name': 'web_ports', 'value': [80], 'kind': 'ports'},
                  'web_ports', "cannot be checked: unknown kind 'ports'")),
]

MODEL = [b for b in BAD if b.model]
MODULE = [b for b in BAD if b.module]
KEEPALIVED = [b for b in BAD if b.keepalived]
SETTINGS = [b for b in BAD if b.settings]
# Run through the module's main() too: the field is named in the failure, and nothing runs.
THROUGH_MAIN = ['vip-zone-id', 'rs-unspecified', 'port-superscript-two', 'lower-above-upper', 'netmask-host-mask',
                'rs-is-the-vip', 'rs-trailing-newline', 'scheduler-flag-twice', 'vip-loopback-v4',
                'netmask-superscript-ipv6']


def ids(rows):
    return [b.rule for b in rows]


def test_the_table_is_big_enough_and_rules_are_unique():
    assert len(ids(BAD)) == len(set(ids(BAD)))
    assert len(MODEL) + len(MODULE) + len(KEEPALIVED) + len(SETTINGS) >= 80
    assert set(THROUGH_MAIN) <= set(ids(MODULE))


def model_errors(services):
    with pytest.raises(ModelError) as info:
        normalise_services(copy.deepcopy(services), HOSTVARS, GROUPS)
    return info.value.errors


def assert_named(lines, path, gist):
    """Some line is exactly about path (path, then ': ') and says the gist."""
    assert any(line.startswith(path + ': ') and gist in line for line in lines), (path, gist, lines)


@pytest.mark.parametrize('bad', MODEL, ids=ids(MODEL))
def test_model_rejects_with_the_field_named(bad):
    services, path, gist = bad.model
    assert_named(model_errors(services), path, gist)


@pytest.mark.parametrize('bad', MODULE, ids=ids(MODULE))
def test_module_input_rejects_with_the_field_named(bad):
    services, path, gist = bad.module
    with pytest.raises(IpvsInputError) as info:
        desired_table(copy.deepcopy(services))
    assert info.value.path == path
    assert_named([str(info.value)], path, gist)


@pytest.mark.parametrize('bad', [b for b in MODULE if b.rule in THROUGH_MAIN], ids=THROUGH_MAIN)
def test_module_called_directly_fails_naming_the_field(bad, run_module, kernel):
    services, path, gist = bad.module
    result = run_module(ipvs_module.main, {'services': copy.deepcopy(services)}, expect_fail=True)
    assert result['field'] == path
    assert_named([result['msg']], path, gist)
    assert kernel.calls == []  # rejected before ipvsadm ran at all


KEEPALIVED_SERVICES = [{'name': 'www', 'vip': '192.0.2.100', 'port': 80, 'real_servers': [{'group': 'lvs_real_servers'}]}]


@pytest.mark.parametrize('bad', KEEPALIVED, ids=ids(KEEPALIVED))
def test_keepalived_settings_reject_with_the_variable_named(bad):
    settings, path, gist = bad.keepalived
    services = normalise_services(copy.deepcopy(KEEPALIVED_SERVICES), HOSTVARS, GROUPS)
    with pytest.raises(ModelError) as info:
        keepalived_config(services, 'lb1', ['lb1', 'lb2'], {}, dict({'interface': 'eth0'}, **settings))
    assert_named(info.value.errors, path, gist)


@pytest.mark.parametrize('bad', SETTINGS, ids=ids(SETTINGS))
def test_role_settings_reject_with_the_variable_named(bad):
    setting, path, gist = bad.settings
    assert_named(check_settings([setting]), path, gist)


# -- several problems at once ----------------------------------------------------------------------------

def test_model_lists_every_problem_at_once():
    errors = model_errors([www(port='http', real_servers=[{'address': '198.51.100.20', 'weight': 70000},
                                                          {'group': 'webz'}])])
    assert errors == [
        P0 + ".port: must be an integer 1..65535, got str 'http'",
        P0 + '.real_servers[0].weight: 70000 is outside 0..65535',
        P0 + ".real_servers[1].group: group 'webz' does not exist in inventory",
    ]


def test_settings_list_every_problem_at_once():
    problems = check_settings([
        {'name': 'web_ports', 'value': [80, 80, 0], 'kind': 'port_list'},
        {'name': 'web_server', 'value': 'nginx\n', 'kind': 'choice', 'choices': ['nginx', 'apache']},
        'not a mapping',
        {'value': 1, 'kind': 'int'},
    ])
    assert problems == [
        'web_ports[1]: port 80 is listed twice',
        'web_ports[2]: 0 is outside 1..65535',
        "web_server: must be one of 'nginx', 'apache', got str 'nginx\\n'",
        'settings[2]: must be a mapping {name, value, kind}, got str',
        'settings[3].name: must be the name of the variable, got null',
    ]


# -- valid edge values stay valid --------------------------------------------------------------------------

def test_valid_edges_of_the_model():
    v6, v4 = normalise_services([
        www6(persistence=300, persistence_netmask='64', sorry_server={'address': '::1'}),
        www(name='www4', persistence=300, persistence_netmask='255.255.255.255', sorry_server={'address': '127.0.0.1'},
            real_servers=[{'group': 'lvs_real_servers', 'upper_threshold': 10, 'lower_threshold': 10}]),
    ], HOSTVARS, GROUPS)
    assert (v6['vip'], v6['family'], v6['persistence_netmask'], v6['sorry_server']) == (
        '2001:db8::100', 'inet6', '64', {'address': '::1', 'port': 80})
    assert (v4['persistence_netmask'], v4['sorry_server']) == ('255.255.255.255', {'address': '127.0.0.1', 'port': 80})


def test_valid_edges_of_the_module():
    table, absent = desired_table([
        svc(port='80', scheduler='SH', scheduler_flags='sh-port,sh-fallback', persistence='300',
            persistence_netmask=24, destinations=[{'address': '198.51.100.11', 'weight': '0'}]),
        svc6(fwmark=1, address=None, port=None, family='inet6', persistence=60, persistence_netmask='48',
             destinations=[{'address': '2001:db8::a', 'port': '8080'}]),
    ])
    assert absent == []
    assert table['-t 192.0.2.100:80']['port'] == 80
    assert table['-t 192.0.2.100:80']['scheduler_flags'] == ['sh-fallback', 'sh-port']
    assert table['-t 192.0.2.100:80']['persistence_netmask'] == '255.255.255.0'
    assert table['-f 1 -6']['persistence_netmask'] == '48'
    assert list(table['-f 1 -6']['destinations']) == ['[2001:db8::a]:8080']


def test_valid_role_settings():
    assert check_settings([
        {'name': 'a', 'value': 'eth0.100', 'kind': 'interface'},
        {'name': 'b', 'value': '', 'kind': 'interface_or_empty'},
        {'name': 'c', 'value': '30', 'kind': 'int', 'min': 0, 'max': 86400},
        {'name': 'd', 'value': False, 'kind': 'bool'},
        {'name': 'e', 'value': 'nginx', 'kind': 'choice', 'choices': ['nginx', 'apache']},
        {'name': 'f', 'value': [80, '8080'], 'kind': 'port_list'},
        {'name': 'g', 'value': '/etc/ipvsadm.rules', 'kind': 'abs_path'},
        {'name': 'h', 'value': 'any\ncontent', 'kind': 'text'},
        {'name': 'i', 'value': {'net.ipv4.vs.expire_nodest_conn': 1, 'net.ipv4.vs.conntrack': '0'},
         'kind': 'sysctl_map'},
        {'name': 'j', 'value': 'web-1', 'kind': 'token', 'pattern': '[a-z0-9-]+'},
    ]) == []


# -- no input of any type raises anything but the intended error ---------------------------------------------

class Unprintable:
    def __repr__(self):
        raise RuntimeError('no repr')


def _nested(depth):
    value = []
    for dummy in range(depth):
        value = [value]
    return value


ODD_VALUES = [None, True, False, 0, -1, 1.5, float('nan'), float('inf'), {}, {'a': 1}, [], [None], (), b'80',
              bytearray(b'80'), memoryview(b'80'), HUGE, -HUGE, '', ' ', '\n', '\x00', '\x1b[31m', '\u00b2',
              '\u0668\u0660', '\u2028', '\ud800', 'x' * 100000, '9' * 5000, Unprintable(), _nested(5000)]
MODEL_FIELDS = ['name', 'vip', 'port', 'fwmark', 'protocol', 'scheduler', 'scheduler_flags', 'forwarding',
                'persistence', 'persistence_netmask', 'gateway', 'real_servers', 'health_check', 'sorry_server',
                'quorum', 'hysteresis', 'inhibit_on_failure', 'match']
MATCH_FIELDS = ['ports', 'protocols', 'addresses']
RS_FIELDS = ['group', 'address', 'port', 'weight', 'upper_threshold', 'lower_threshold']
MODULE_FIELDS = ['protocol', 'address', 'port', 'fwmark', 'family', 'scheduler', 'scheduler_flags', 'persistence',
                 'persistence_netmask', 'state', 'destinations']
DEST_FIELDS = ['address', 'port', 'forwarding', 'weight', 'upper_threshold', 'lower_threshold']


def _model_survives(services):
    try:
        normalise_services(services, HOSTVARS, GROUPS)
    except ModelError as exc:
        assert all(isinstance(line, str) for line in exc.errors)
        str(exc)


def _module_survives(services):
    try:
        desired_table(services)
    except IpvsInputError as exc:
        assert str(exc).startswith(exc.path + ': ')


@pytest.mark.parametrize('field', MODEL_FIELDS)
def test_any_value_in_a_service_field_gives_a_model_error_or_nothing(field):
    for value in ODD_VALUES:
        _model_survives([www(**{'persistence': 300, field: value})])
        _model_survives([www(persistence=300, health_check={'type': 'http_get', 'path': value, 'status_code': value},
                             sorry_server={'address': value, 'port': value})])
        _model_survives([www(real_servers=[{'address': '198.51.100.20', field: value}])])
    _model_survives(ODD_VALUES)  # as the services themselves


@pytest.mark.parametrize('field', MATCH_FIELDS)
def test_any_value_in_a_match_field_gives_a_model_error_or_nothing(field):
    for value in ODD_VALUES:
        for vip in ('192.0.2.100', None):
            _model_survives([marked({'ports': [80], field: value}, vip=vip)])
            _model_survives([marked({'ports': [80], field: [value, value]}, vip=vip)])
        _model_survives([marked(value)])


@pytest.mark.parametrize('field', RS_FIELDS)
def test_any_value_in_a_real_server_field_gives_a_model_error_or_nothing(field):
    for value in ODD_VALUES:
        item = {'address': '198.51.100.20'} if field != 'address' else {}
        _model_survives([www(real_servers=[dict(item, **{field: value})])])
        _model_survives([www(real_servers=[value])])


def test_any_value_of_a_hosts_address6_gives_a_model_error_or_nothing():
    for value in ODD_VALUES:
        hostvars = dict(HOSTVARS, web1={'ansible_host': '192.0.2.11', 'lvs_real_server_address6': value})
        for services in ([www6(real_servers=[{'group': 'lvs_real_servers'}])], [www()],
                         [www6(real_servers=[{'address': '2001:db8::11'}])]):
            try:
                normalise_services(copy.deepcopy(services), hostvars, GROUPS)
            except ModelError as exc:
                assert all(isinstance(line, str) and '\n' not in line for line in exc.errors)
                str(exc)


@pytest.mark.parametrize('field', MODULE_FIELDS)
def test_any_value_in_a_module_service_field_gives_an_input_error_or_nothing(field):
    for value in ODD_VALUES:
        _module_survives([svc(**{'persistence': 300, field: value})])
        _module_survives([svc6(**{'fwmark': 1, 'persistence': 300, field: value})])
    _module_survives(ODD_VALUES)


@pytest.mark.parametrize('field', DEST_FIELDS)
def test_any_value_in_a_destination_field_gives_an_input_error_or_nothing(field):
    for value in ODD_VALUES:
        _module_survives([dest(**{field: value})])
        _module_survives([svc(destinations=[value])])


@pytest.mark.parametrize('kind', ['interface', 'interface_or_empty', 'int', 'bool', 'choice', 'port_list', 'abs_path',
                                  'text', 'sysctl_map', 'token', 'unknown'])
def test_any_value_of_a_setting_gives_problems_or_nothing(kind):
    for value in ODD_VALUES:
        for options in ({}, {'min': 1, 'max': 5, 'choices': [value, 'x'], 'pattern': value}):
            problems = check_settings([dict(options, name='v', value=value, kind=kind)])
            assert all(isinstance(p, str) and p.startswith('v') for p in problems), problems
        assert isinstance(check_settings([{'name': 'v', 'value': {value: 1} if _hashable(value) else value,
                                           'kind': kind}]), list)
    for settings in ODD_VALUES:
        assert isinstance(check_settings(settings), list)


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True


@pytest.mark.parametrize('key', ['priority', 'preempt', 'preempt_delay', 'advert_int', 'interface',
                                 'virtual_router_id_base', 'virtual_router_ids', 'auth_pass', 'sync_daemon',
                                 'sync_interface', 'sync_id', 'vrrp_version', 'unicast', 'unicast_address'])
def test_any_keepalived_setting_gives_a_model_error_or_nothing(key):
    services = normalise_services(copy.deepcopy(KEEPALIVED_SERVICES), HOSTVARS, GROUPS)
    for value in ODD_VALUES + [{value: 1} for value in ODD_VALUES if _hashable(value)]:
        try:
            keepalived_config(services, 'lb1', ['lb1', 'lb2'], {}, {key: value}, placement={'192.0.2.100': value})
        except ModelError as exc:
            str(exc)
