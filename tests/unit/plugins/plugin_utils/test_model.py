# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and normalisation of the data model in docs/data-model.md."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.lvs.cluster.plugins.plugin_utils.model import (
    ModelError,
    normalise_services,
    services_served_by,
    to_ipvs_services,
    to_mark_rules,
)

HOSTVARS = {
    'director1': {'ansible_host': '192.0.2.10'},
    'web1': {'ansible_host': '192.0.2.11', 'lvs_real_server_weight': 1},
    'web2': {'ansible_host': '192.0.2.12', 'lvs_real_server_weight': 2},
    'web3': {'ansible_host': '192.0.2.13'},  # no weight: falls back to the group item's weight
    'nat1': {'ansible_host': '192.0.2.21', 'lvs_real_server_address': '198.51.100.11'},
    'v6a': {'ansible_host': 'v6a.example.org', 'lvs_real_server_address': '2001:DB8:0:0::a'},
    '2001:db8::b': {},  # inventory hostname that is itself an address
    'named': {'ansible_host': 'named.example.org'},  # no usable address
    'badaddr': {'lvs_real_server_address': '198.51.100.300'},
    'heavy': {'ansible_host': '192.0.2.14', 'lvs_real_server_weight': 70000},
}
GROUPS = {
    'all': list(HOSTVARS),
    'ungrouped': [],
    'lvs_directors': ['director1'],
    'lvs_real_servers': ['web1', 'web2'],
    'web_more': ['web3'],
    'nat_rs': ['nat1'],
    'v6': ['v6a', '2001:db8::b'],
    'empty': [],
    'named': ['named'],
    'badaddr': ['badaddr'],
    'heavy': ['heavy'],
}


def web(**changes):
    """A valid DR service; keyword arguments replace (or, with None, drop) keys."""
    svc = {'name': 'web', 'vip': '192.0.2.100', 'port': 80, 'protocol': 'tcp', 'scheduler': 'wrr',
           'forwarding': 'dr', 'real_servers': [{'group': 'lvs_real_servers'}]}
    for key, value in changes.items():
        if value is None:
            svc.pop(key, None)
        else:
            svc[key] = value
    return svc


def rs(**item):
    return web(real_servers=[item])


def normalise(services):
    return normalise_services(copy.deepcopy(services), HOSTVARS, GROUPS)


def errors_of(services):
    with pytest.raises(ModelError) as info:
        normalise(services)
    return info.value.errors


P0 = 'lvs_virtual_services[0] (web)'
P1 = 'lvs_virtual_services[1] (web2)'

# (id, services, one expected error line prefix/substring that names the field)
BAD = [
    ('not-a-list', {'name': 'web'}, 'lvs_virtual_services: must be a list'),
    ('item-not-dict', ['web'], 'lvs_virtual_services[0]: must be a mapping (dict), got str'),
    ('unknown-service-key', [web(wieght=1)], P0 + ': unknown key(s) wieght'),
    ('unknown-rs-key', [rs(address='192.0.2.30', wieght=1)], P0 + '.real_servers[0]: unknown key(s) wieght'),
    ('name-missing', [web(name=None)], 'lvs_virtual_services[0].name: is required'),
    ('name-bad-chars', [web(name='my web')], "lvs_virtual_services[0].name: must match [A-Za-z0-9_.-]+, got str 'my web'"),
    ('name-not-str', [web(name=5)], 'lvs_virtual_services[0].name: must match'),
    ('name-duplicate', [web(), web(vip='192.0.2.101')],
     "lvs_virtual_services[1] (web).name: 'web' is already used by lvs_virtual_services[0] (web)"),
    ('vip-malformed', [web(vip='192.0.2.256')], P0 + ".vip: must be a unicast IPv4 or IPv6 address, got str '192.0.2.256'"),
    ('vip-with-prefix', [web(vip='192.0.2.100/24')], P0 + '.vip: must be a unicast'),
    ('vip-bad-ipv6', [web(vip='2001:db8::g')], P0 + '.vip: must be a unicast'),
    ('vip-unspecified', [web(vip='0.0.0.0')], P0 + '.vip: must be a unicast IPv4 or IPv6 address, got 0.0.0.0 (unspecified)'),
    ('vip-missing', [web(vip=None)], P0 + '.vip: is required (unless fwmark is set)'),
    ('rs-address-malformed', [rs(address='198.51.100.999')], P0 + '.real_servers[0].address: must be a unicast'),
    ('rs-address-bad-ipv6', [web(vip='2001:db8::100', real_servers=[{'address': '2001:db8:::1'}])],
     P0 + '.real_servers[0].address: must be a unicast'),
    ('host-var-address-malformed', [rs(group='badaddr')],
     P0 + '.real_servers[0] (group badaddr) host badaddr: lvs_real_server_address: must be a unicast IPv4 or IPv6 address'),
    ('host-without-ip', [rs(group='named')],
     P0 + ".real_servers[0] (group named) host named: no IP address: set lvs_real_server_address (ansible_host 'named.example.org'"),
    ('port-zero', [web(port=0)], P0 + '.port: 0 is outside 1..65535'),
    ('port-too-big', [web(port=65536)], P0 + '.port: 65536 is outside 1..65535'),
    ('port-string', [web(port='80')], P0 + ".port: must be an integer 1..65535, got str '80'"),
    ('port-bool', [web(port=True)], P0 + '.port: must be an integer 1..65535, got bool True'),
    ('port-float', [web(port=80.0)], P0 + '.port: must be an integer 1..65535, got float 80.0'),
    ('port-missing', [web(port=None)], P0 + '.port: is required (unless fwmark is set)'),
    ('rs-port-zero', [web(forwarding='nat', gateway='192.0.2.1', real_servers=[{'address': '192.0.2.30', 'port': 0}])],
     P0 + '.real_servers[0].port: 0 is outside 1..65535'),
    ('rs-port-too-big', [rs(address='192.0.2.30', port=70000)], P0 + '.real_servers[0].port: 70000 is outside 1..65535'),
    ('rs-port-string', [rs(address='192.0.2.30', port='http')], P0 + ".real_servers[0].port: must be an integer 1..65535, got str 'http'"),
    ('protocol-unknown', [web(protocol='icmp')], P0 + ".protocol: unknown protocol 'icmp' (one of tcp, udp, sctp)"),
    ('scheduler-unknown', [web(scheduler='fastest')], P0 + ".scheduler: unknown scheduler 'fastest'"),
    ('scheduler-flag-unknown', [web(scheduler='sh', scheduler_flags=['sh-magic'])],
     P0 + ".scheduler_flags[0]: unknown scheduler flag 'sh-magic'"),
    ('scheduler-flag-wrong-scheduler', [web(scheduler='wrr', scheduler_flags=['sh-port'])],
     P0 + '.scheduler_flags[0]: flag sh-port only applies to scheduler sh, not wrr'),
    ('scheduler-flags-not-list', [web(scheduler='sh', scheduler_flags='sh-port')], P0 + '.scheduler_flags: must be a list'),
    ('forwarding-unknown', [web(forwarding='masq')], P0 + ".forwarding: unknown forwarding 'masq' (one of nat, dr, tun)"),
    ('dr-port-remap', [rs(group='lvs_real_servers', port=8080)],
     P0 + '.real_servers[0].port: 8080 must equal the service port 80 with forwarding dr'),
    ('tun-port-remap', [web(forwarding='tun', real_servers=[{'address': '198.51.100.30', 'port': 8080}])],
     P0 + '.real_servers[0].port: 8080 must equal the service port 80 with forwarding tun'),
    ('duplicate-vip-port-proto', [web(), web(name='web2')],
     P1 + ': virtual service 192.0.2.100:80/tcp is already used by lvs_virtual_services[0] (web)'),
    ('duplicate-vip-ipv6-spelling', [web(vip='2001:db8::100', real_servers=[{'group': 'v6'}]),
                                     web(name='web2', vip='2001:DB8:0::100', real_servers=[{'group': 'v6'}])],
     P1 + ': virtual service [2001:db8::100]:80/tcp is already used by lvs_virtual_services[0] (web)'),
    ('duplicate-fwmark', [web(vip=None, port=None, fwmark=7), web(name='web2', vip=None, port=None, fwmark=7)],
     P1 + '.fwmark: 7 (inet) is already used by lvs_virtual_services[0] (web)'),
    ('fwmark-zero', [web(fwmark=0)], P0 + '.fwmark: 0 is outside 1..4294967295'),
    ('real-servers-empty', [web(real_servers=[])], P0 + '.real_servers: must not be empty'),
    ('real-servers-missing', [web(real_servers=None)], P0 + '.real_servers: is required'),
    ('real-servers-not-list', [web(real_servers={'group': 'lvs_real_servers'})], P0 + '.real_servers: must be a list'),
    ('real-server-not-dict', [web(real_servers=['192.0.2.11'])], P0 + '.real_servers[0]: must be a mapping (dict), got str'),
    ('group-empty', [rs(group='empty')], P0 + ".real_servers[0].group: group 'empty' has no hosts"),
    ('group-missing', [rs(group='webz')], P0 + ".real_servers[0].group: group 'webz' does not exist in inventory"),
    ('weight-too-big', [web(real_servers=[{'group': 'lvs_real_servers'}, {'address': '192.0.2.30', 'weight': 70000}])],
     P0 + '.real_servers[1].weight: 70000 is outside 0..65535'),
    ('weight-negative', [rs(address='192.0.2.30', weight=-1)], P0 + '.real_servers[0].weight: -1 is outside 0..65535'),
    ('host-weight-too-big', [rs(group='heavy')],
     P0 + '.real_servers[0] (group heavy) host heavy.lvs_real_server_weight: 70000 is outside 0..65535'),
    ('upper-threshold-negative', [rs(address='192.0.2.30', upper_threshold=-5)],
     P0 + '.real_servers[0].upper_threshold: -5 is outside 0..65535'),
    ('lower-threshold-negative', [rs(address='192.0.2.30', lower_threshold=-5)],
     P0 + '.real_servers[0].lower_threshold: -5 is outside 0..65535'),
    ('lower-above-upper', [rs(address='192.0.2.30', upper_threshold=10, lower_threshold=20)],
     P0 + '.real_servers[0].lower_threshold: 20 is above upper_threshold 10'),
    ('persistence-negative', [web(persistence=-1)], P0 + '.persistence: -1 is outside 0..2678400'),
    ('persistence-over-31-days', [web(persistence=2678401)], P0 + '.persistence: 2678401 is outside 0..2678400'),
    ('upper-threshold-too-big', [rs(address='192.0.2.30', upper_threshold=65536)],
     P0 + '.real_servers[0].upper_threshold: 65536 is outside 0..65535'),
    ('netmask-without-persistence', [web(persistence_netmask='255.255.255.0')],
     P0 + '.persistence_netmask: is only valid together with persistence > 0'),
    ('netmask-with-zero-persistence', [web(persistence=0, persistence_netmask='255.255.255.0')],
     P0 + '.persistence_netmask: is only valid together with persistence > 0'),
    ('netmask-not-contiguous', [web(persistence=300, persistence_netmask='255.0.255.0')],
     P0 + ".persistence_netmask: must be a dotted IPv4 netmask like 255.255.255.0, got str '255.0.255.0'"),
    ('netmask-garbage', [web(persistence=300, persistence_netmask='/24')], P0 + '.persistence_netmask: must be a dotted IPv4 netmask'),
    ('netmask-ipv6-prefix-too-long', [web(vip='2001:db8::100', persistence=300, persistence_netmask=129,
                                          real_servers=[{'group': 'v6'}])],
     P0 + '.persistence_netmask: 129 is outside 1..128'),
    ('nat-without-gateway', [web(forwarding='nat')], P0 + '.gateway: is required with forwarding nat'),
    ('nat-gateway-malformed', [web(forwarding='nat', gateway='198.51.100.1.1')], P0 + '.gateway: must be a unicast'),
    ('nat-gateway-family', [web(forwarding='nat', gateway='2001:db8::1')], P0 + '.gateway: 2001:db8::1 is IPv6 but the service is IPv4'),
    ('gateway-without-nat', [web(gateway='192.0.2.1')], P0 + '.gateway: is only used with forwarding nat (this service uses dr)'),
    ('family-mismatch-address', [web(real_servers=[{'address': '2001:db8::30'}])],
     P0 + '.real_servers[0].address: address 2001:db8::30 is IPv6 but the service is IPv4 (vip 192.0.2.100)'),
    ('family-mismatch-group', [web(vip='2001:db8::100')],
     P0 + '.real_servers[0] (group lvs_real_servers) host web1: address 192.0.2.11 is IPv4 but the service is IPv6'),
    ('family-mismatch-fwmark', [web(vip=None, port=None, fwmark=1, real_servers=[{'address': '192.0.2.30'}, {'group': 'v6'}])],
     P0 + '.real_servers[1] (group v6) host v6a: address 2001:db8::a is IPv6 but the service is IPv4 (taken from the first'),
    ('same-rs-twice-address', [web(real_servers=[{'address': '192.0.2.30'}, {'address': '192.0.2.30'}])],
     P0 + '.real_servers[1].address: real server 192.0.2.30:80 is listed twice in ' + P0 + ' (also at ' + P0 + '.real_servers[0].address)'),
    ('same-rs-twice-group-and-address', [web(real_servers=[{'group': 'lvs_real_servers'}, {'address': '192.0.2.12'}])],
     P0 + '.real_servers[1].address: real server 192.0.2.12:80 is listed twice'),
    ('mixed-group-and-address', [rs(group='lvs_real_servers', address='192.0.2.30')],
     P0 + '.real_servers[0]: has both group and address'),
    ('mixed-neither', [rs(weight=3)], P0 + '.real_servers[0]: needs either group (an inventory group) or address (an IP)'),
    # Full-string matches, no stripping, ASCII digits, unicast only (more in tests/unit/plugins/test_bad_inputs.py).
    ('vip-zone-id', [web(vip="2001:db8::1%x';echo INJECTED;'", real_servers=[{'group': 'v6'}])],
     P0 + ".vip: must be a unicast IPv4 or IPv6 address without a zone id (%...), got str \"2001:db8::1%x';echo"),
    ('vip-leading-space', [web(vip=' 192.0.2.1')], P0 + ".vip: must be a unicast IPv4 or IPv6 address, got str ' 192.0.2.1'"),
    ('vip-loopback', [web(vip='127.0.0.1')], P0 + '.vip: must be a unicast IPv4 or IPv6 address, got 127.0.0.1 (loopback)'),
    ('vip-is-a-real-server', [rs(address='192.0.2.100')],
     P0 + ".real_servers[0].address: 192.0.2.100 is the virtual service's own address (vip)"),
    ('name-trailing-newline', [web(name='www\n')], "lvs_virtual_services[0].name: must match [A-Za-z0-9_.-]+, got str 'www\\n'"),
    ('netmask-superscript', [web(vip='2001:db8::100', persistence=300, persistence_netmask='\u00b2',
                                 real_servers=[{'group': 'v6'}])],
     P0 + ".persistence_netmask: must be an integer 1..128, got str '\u00b2'"),
    ('netmask-host-mask', [web(persistence=300, persistence_netmask='0.0.0.255')],
     P0 + ".persistence_netmask: must be a dotted IPv4 netmask like 255.255.255.0, got str '0.0.0.255'"),
]


@pytest.mark.parametrize('services, expected', [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_input_names_the_field(services, expected):
    errors = errors_of(services)
    assert any(line.startswith(expected) for line in errors), errors


def test_every_error_is_reported_at_once():
    services = [web(port=0, scheduler='fastest', real_servers=[{'address': '192.0.2.30', 'weight': 70000}]),
                web(name='web2', vip='bogus', forwarding='nat')]
    errors = errors_of(services)
    assert errors == [
        P0 + '.port: 0 is outside 1..65535',
        P0 + ".scheduler: unknown scheduler 'fastest' (one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, "
             "ovf, mh, twos)",
        P0 + '.real_servers[0].weight: 70000 is outside 0..65535',
        P1 + ".vip: must be a unicast IPv4 or IPv6 address, got str 'bogus'",
        P1 + '.gateway: is required with forwarding nat (the director address real servers route replies through)',
    ]
    with pytest.raises(ModelError) as info:
        normalise(services)
    assert str(info.value).split('\n') == errors


def test_valid_input_is_not_modified():
    services = [web()]
    before = copy.deepcopy(services)
    normalise_services(services, HOSTVARS, GROUPS)
    assert services == before


# -- normalisation --------------------------------------------------------------------------------

def test_group_resolution_with_per_host_weights():
    (svc,) = normalise([web()])
    assert svc['real_servers'] == [
        {'address': '192.0.2.11', 'port': 80, 'weight': 1, 'upper_threshold': 0, 'lower_threshold': 0, 'host': 'web1'},
        {'address': '192.0.2.12', 'port': 80, 'weight': 2, 'upper_threshold': 0, 'lower_threshold': 0, 'host': 'web2'},
    ]


def test_host_weight_wins_over_item_weight_which_wins_over_default():
    (svc,) = normalise([web(real_servers=[{'group': 'lvs_real_servers', 'weight': 9}, {'group': 'web_more', 'weight': 5},
                                          {'address': '192.0.2.30'}])])
    assert [(r['host'], r['weight']) for r in svc['real_servers']] == [('web1', 1), ('web2', 2), ('web3', 5), (None, 1)]


def test_group_item_settings_apply_to_every_member():
    (svc,) = normalise([web(forwarding='nat', gateway='198.51.100.1',
                            real_servers=[{'group': 'nat_rs', 'port': 8080, 'upper_threshold': 100,
                                           'lower_threshold': 50}])])
    assert svc['real_servers'] == [{'address': '198.51.100.11', 'port': 8080, 'weight': 1, 'upper_threshold': 100,
                                    'lower_threshold': 50, 'host': 'nat1'}]
    assert svc['gateway'] == '198.51.100.1'


def test_ipv6_is_canonicalised():
    (svc,) = normalise([web(vip='2001:DB8:0000::0100', real_servers=[
        {'group': 'v6'}, {'address': '2001:db8:0:0:0:0:0:c'}])])
    assert svc['vip'] == '2001:db8::100'
    assert svc['family'] == 'inet6'
    assert [(r['address'], r['host']) for r in svc['real_servers']] == [
        ('2001:db8::a', 'v6a'), ('2001:db8::b', '2001:db8::b'), ('2001:db8::c', None)]


def test_ipv6_persistence_netmask_is_a_prefix_length():
    (svc,) = normalise([web(vip='2001:db8::100', persistence=600, persistence_netmask=64,
                            real_servers=[{'group': 'v6'}])])
    assert (svc['persistence'], svc['persistence_netmask']) == (600, '64')


def test_defaults_are_filled_in():
    (svc,) = normalise([{'name': 'minimal', 'vip': '192.0.2.100', 'port': 443,
                         'real_servers': [{'address': '192.0.2.30'}]}])
    assert svc == {
        'name': 'minimal', 'vip': '192.0.2.100', 'family': 'inet', 'port': 443, 'fwmark': None, 'protocol': 'tcp',
        'scheduler': 'wlc', 'scheduler_flags': [], 'forwarding': 'dr', 'persistence': None,
        'persistence_netmask': None, 'gateway': None,
        'real_servers': [{'address': '192.0.2.30', 'port': 443, 'weight': 1, 'upper_threshold': 0,
                          'lower_threshold': 0, 'host': None}],
        'health_check': {'type': 'tcp_check', 'path': '/', 'status_code': 200, 'script': None,
                         'connect_timeout': 3, 'timeout': 5, 'retries': 1, 'delay_before_retry': 1,
                         'delay_loop': 5},
        'sorry_server': None, 'quorum': 1, 'hysteresis': 0, 'inhibit_on_failure': False, 'match': None,
    }


def test_zero_persistence_means_not_persistent():
    (svc,) = normalise([web(persistence=0)])
    assert svc['persistence'] is None


def test_persistence_with_netmask():
    (svc,) = normalise([web(scheduler='sh', scheduler_flags=['sh-fallback', 'sh-port'], persistence=300,
                            persistence_netmask='255.255.255.0')])
    assert (svc['persistence'], svc['persistence_netmask']) == (300, '255.255.255.0')
    assert svc['scheduler_flags'] == ['sh-fallback', 'sh-port']


def test_fwmark_service_without_vip_takes_family_from_real_servers():
    (v4, v6) = normalise([web(vip=None, port=None, fwmark=1),
                          web(name='web2', vip=None, port=None, fwmark=1, real_servers=[{'group': 'v6'}])])
    assert (v4['vip'], v4['port'], v4['fwmark'], v4['family']) == (None, None, 1, 'inet')
    assert [r['port'] for r in v4['real_servers']] == [None, None]
    assert (v6['fwmark'], v6['family']) == (1, 'inet6')  # same mark, other family: a different IPVS service


def test_fwmark_service_may_keep_vip_and_port():
    (svc,) = normalise([web(fwmark=4294967295)])
    assert (svc['vip'], svc['port'], svc['fwmark']) == ('192.0.2.100', 80, 4294967295)


# -- match (what the director marks for a fwmark service) ------------------------------------------

def shop(match, **changes):
    """A fwmark service (mark 7, the vip kept, no port) that declares what it matches."""
    return web(**dict({'name': 'shop', 'fwmark': 7, 'port': None, 'persistence': 300, 'match': match}, **changes))


def test_match_defaults_to_the_vip_and_tcp():
    (svc,) = normalise([shop({'ports': [80]})])
    assert svc['match'] == {'addresses': ['192.0.2.100'], 'protocols': ['tcp'], 'ports': ['80']}
    assert (svc['fwmark'], svc['vip'], svc['port']) == (7, '192.0.2.100', None)


def test_match_ports_are_sorted_by_their_low_port_as_text():
    (svc,) = normalise([shop({'ports': [8080, '09000-09100', 443, '1-79', 65535]})])
    assert svc['match']['ports'] == ['1-79', '443', '8080', '9000-9100', '65535']


def test_match_addresses_keep_their_order_in_canonical_form():
    (svc,) = normalise([shop({'ports': [80], 'protocols': ['udp', 'tcp', 'sctp'],
                              'addresses': ['198.51.100.0/24', '192.0.2.100', '192.0.2.48/29', '203.0.113.9/32']})])
    assert svc['match']['addresses'] == ['198.51.100.0/24', '192.0.2.100', '192.0.2.48/29', '203.0.113.9']
    assert svc['match']['protocols'] == ['udp', 'tcp', 'sctp']


def test_match_of_an_ipv6_service_without_vip():
    (svc,) = normalise([shop({'ports': ['8000-8010', 80], 'protocols': ['udp'],
                              'addresses': ['2001:DB8:0:1::/64', '2001:db8:0:0:0:0:0:100']},
                             vip=None, real_servers=[{'group': 'v6'}])])
    assert (svc['vip'], svc['family']) == (None, 'inet6')
    assert svc['match'] == {'addresses': ['2001:db8:0:1::/64', '2001:db8::100'], 'protocols': ['udp'],
                            'ports': ['80', '8000-8010']}


def test_match_problems_are_all_reported_at_once():
    errors = errors_of([shop({'ports': ['80-70', 8080, 8080], 'protocols': ['tcp', 'icmp'],
                              'addresses': ['192.0.2.1/24', '2001:db8::1']})])
    m = 'lvs_virtual_services[0] (shop).match'
    assert errors == [
        m + ".ports[0]: range '80-70': 80 is not below 70 (a single port is written as a number)",
        m + '.ports[2]: 8080 is listed twice (also at %s.ports[1])' % m,
        m + ".protocols[1]: unknown protocol 'icmp' (one of tcp, udp, sctp)",
        m + ".addresses[0]: '192.0.2.1/24' has host bits set: the network is 192.0.2.0/24 "
            "(or write 192.0.2.1 for that one address)",
        m + '.addresses[1]: address 2001:db8::1 is IPv6 but the service is IPv4 (vip 192.0.2.100)',
    ]


def test_match_is_not_passed_to_the_ipvs_module():
    services = normalise([shop({'ports': [80, '8000-8100'], 'addresses': ['192.0.2.96/27']})])
    (virtual,) = to_ipvs_services(services)
    assert 'match' not in virtual
    assert (virtual['fwmark'], virtual['family']) == (7, 'inet')
    assert 'address' not in virtual and 'port' not in virtual and 'protocol' not in virtual


def test_served_by_keeps_match():
    services = normalise([shop({'ports': [80]})])
    (mine,) = services_served_by(services, 'web1')
    assert mine['match'] == services[0]['match']


def test_same_vip_port_on_other_protocol_is_fine():
    services = normalise([web(), web(name='dns', protocol='udp')])
    assert [(s['name'], s['protocol']) for s in services] == [('web', 'tcp'), ('dns', 'udp')]


def test_address_items_find_their_inventory_host():
    (svc,) = normalise([web(forwarding='nat', gateway='198.51.100.1', real_servers=[
        {'address': '192.0.2.11'},  # ansible_host of web1
        {'address': '198.51.100.11', 'port': 8080, 'weight': 4},  # lvs_real_server_address of nat1
        {'address': '198.51.100.20'}])])  # not in inventory
    assert [(r['address'], r['port'], r['weight'], r['host']) for r in svc['real_servers']] == [
        ('192.0.2.11', 80, 1, 'web1'), ('198.51.100.11', 8080, 4, 'nat1'), ('198.51.100.20', 80, 1, None)]


def test_empty_or_null_service_list_is_valid():
    assert normalise([]) == []
    assert normalise(None) == []


def test_var_name_prefixes_error_paths():
    with pytest.raises(ModelError) as info:
        normalise_services([web(port=0)], HOSTVARS, GROUPS, var_name='extra_services')
    assert info.value.errors == ['extra_services[0] (web).port: 0 is outside 1..65535']


# -- served_by ------------------------------------------------------------------------------------

def test_served_by_group_member_gets_its_own_entry():
    services = normalise([web(), web(name='other', vip='192.0.2.101', real_servers=[{'group': 'web_more'}])])
    (mine,) = services_served_by(services, 'web2')
    assert mine['name'] == 'web'
    assert mine['real_server'] == {'address': '192.0.2.12', 'port': 80, 'weight': 2, 'upper_threshold': 0,
                                   'lower_threshold': 0, 'host': 'web2'}
    assert {k: v for k, v in mine.items() if k != 'real_server'} == services[0]


def test_served_by_address_match():
    services = normalise([web(real_servers=[{'address': '192.0.2.13', 'weight': 7}])])
    (mine,) = services_served_by(services, 'web3')
    assert (mine['real_server']['address'], mine['real_server']['weight']) == ('192.0.2.13', 7)


def test_served_by_host_that_serves_nothing():
    services = normalise([web()])
    assert services_served_by(services, 'director1') == []
    assert len(services_served_by(services, 'web1')) == 1


def test_served_by_rejects_raw_input():
    with pytest.raises(ModelError, match='served_by expects the output of lvs.cluster.virtual_services'):
        services_served_by({'name': 'web'}, 'web1')


# -- dual-stack real servers: lvs_real_server_address6 ---------------------------------------------

DUAL_HOSTVARS = {
    # reached over IPv4; lvs_real_server_address6 is their address in IPv6 services
    'rs1': {'ansible_host': '192.0.2.11', 'lvs_real_server_address6': '2001:DB8:0::11'},
    'rs2': {'ansible_host': '192.0.2.12', 'lvs_real_server_address6': '2001:db8::12', 'lvs_real_server_weight': 2},
    'v4only': {'ansible_host': '192.0.2.13'},
    # IPv6 in lvs_real_server_address already: lvs_real_server_address6 wins in IPv6 services where it is set
    'v6main': {'ansible_host': '192.0.2.14', 'lvs_real_server_address': '2001:db8::14'},
    'both6': {'lvs_real_server_address': '2001:db8::15', 'lvs_real_server_address6': '2001:db8::1:15'},
    # no IPv4 address at all (ansible_host a DNS name): fine for IPv6 services
    'named6': {'ansible_host': 'named6.example.org', 'lvs_real_server_address6': '2001:db8::16'},
}
DUAL_GROUPS = {'all': list(DUAL_HOSTVARS), 'lvs_real_servers': ['rs1', 'rs2'], 'v4only': ['v4only'],
               'v6main': ['v6main'], 'both6': ['both6'], 'named6': ['named6']}
W6 = 'lvs_virtual_services[1] (web6)'


def web6(**changes):
    return web(**dict({'name': 'web6', 'vip': '2001:db8::100'}, **changes))


def dual(services, hostvars=None, groups=None):
    return normalise_services(copy.deepcopy(services), DUAL_HOSTVARS if hostvars is None else hostvars,
                              DUAL_GROUPS if groups is None else groups)


def dual_errors(services, hostvars=None, groups=None):
    with pytest.raises(ModelError) as info:
        dual(services, hostvars, groups)
    return info.value.errors


def test_dual_stack_group_serves_an_ipv4_and_an_ipv6_service():
    v4, v6 = dual([web(), web6()])
    assert (v4['vip'], v4['family'], v6['vip'], v6['family']) == ('192.0.2.100', 'inet', '2001:db8::100', 'inet6')
    assert v4['real_servers'] == [
        {'address': '192.0.2.11', 'port': 80, 'weight': 1, 'upper_threshold': 0, 'lower_threshold': 0, 'host': 'rs1'},
        {'address': '192.0.2.12', 'port': 80, 'weight': 2, 'upper_threshold': 0, 'lower_threshold': 0, 'host': 'rs2'},
    ]
    assert v6['real_servers'] == [
        {'address': '2001:db8::11', 'port': 80, 'weight': 1, 'upper_threshold': 0, 'lower_threshold': 0, 'host': 'rs1'},
        {'address': '2001:db8::12', 'port': 80, 'weight': 2, 'upper_threshold': 0, 'lower_threshold': 0, 'host': 'rs2'},
    ]
    assert [(v['family'], [d['address'] for d in v['destinations']]) for v in to_ipvs_services([v4, v6])] == [
        ('inet', ['192.0.2.11', '192.0.2.12']), ('inet6', ['2001:db8::11', '2001:db8::12'])]


def test_dual_stack_host_serves_both_services_each_at_its_own_address():
    services = dual([web(), web6(), web(name='other', vip='192.0.2.101', real_servers=[{'group': 'v4only'}])])
    mine = services_served_by(services, 'rs1')
    assert [(s['name'], s['real_server']['address'], s['real_server']['host']) for s in mine] == [
        ('web', '192.0.2.11', 'rs1'), ('web6', '2001:db8::11', 'rs1')]
    assert [s['name'] for s in services_served_by(services, 'v4only')] == ['other']


def test_ipv6_service_uses_the_hosts_address_without_address6_and_address6_where_set():
    (svc,) = dual([web6(real_servers=[{'group': 'v6main'}, {'group': 'both6'}, {'group': 'named6'}])])
    assert [(r['address'], r['host']) for r in svc['real_servers']] == [
        ('2001:db8::14', 'v6main'), ('2001:db8::1:15', 'both6'), ('2001:db8::16', 'named6')]


def test_ipv4_service_never_reads_address6():
    hostvars = dict(DUAL_HOSTVARS, rs1={'ansible_host': '192.0.2.11', 'lvs_real_server_address6': '192.0.2.11'},
                    rs2={'ansible_host': '192.0.2.12', 'lvs_real_server_address6': ['not', 'an', 'address']})
    (svc,) = dual([web()], hostvars)
    assert [(r['address'], r['host']) for r in svc['real_servers']] == [('192.0.2.11', 'rs1'), ('192.0.2.12', 'rs2')]


def test_fwmark_service_without_vip_resolves_members_as_before():
    """Its family comes from its first real server: its group members are at lvs_real_server_address/ansible_host."""
    (svc,) = dual([web(vip=None, port=None, fwmark=3)])
    assert svc['family'] == 'inet'
    assert [r['address'] for r in svc['real_servers']] == ['192.0.2.11', '192.0.2.12']


def test_address6_is_matched_by_an_explicit_address_item():
    services = dual([web6(real_servers=[{'address': '2001:db8:0:0::12', 'weight': 5}, {'address': '2001:db8::99'}])])
    assert [(r['address'], r['host']) for r in services[0]['real_servers']] == [
        ('2001:db8::12', 'rs2'), ('2001:db8::99', None)]
    (mine,) = services_served_by(services, 'rs2')
    assert (mine['name'], mine['real_server']['address'], mine['real_server']['weight']) == ('web6', '2001:db8::12', 5)
    assert services_served_by(services, 'rs1') == []


def test_address6_does_not_take_over_another_hosts_address():
    """An address item equal to one host's address and another's lvs_real_server_address6 is the first host's."""
    hostvars = {'early': {'ansible_host': '192.0.2.11', 'lvs_real_server_address6': '2001:db8::14'},
                'v6main': DUAL_HOSTVARS['v6main']}
    (svc,) = dual([web6(real_servers=[{'address': '2001:db8::14'}])], hostvars, {'all': ['early', 'v6main']})
    assert svc['real_servers'][0]['host'] == 'v6main'


def test_group_and_address6_item_for_the_same_host_are_a_duplicate():
    errors = dual_errors([web(), web6(real_servers=[{'group': 'lvs_real_servers'}, {'address': '2001:db8::11'}])])
    assert errors == [W6 + '.real_servers[1].address: real server [2001:db8::11]:80 is listed twice in ' + W6
                      + ' (also at ' + W6 + '.real_servers[0] (group lvs_real_servers) host rs1)']


class _Unreadable(dict):
    """A host's vars where one variable cannot be produced (Ansible: a template with an undefined variable)."""

    def get(self, key, default=None):
        if key == 'lvs_real_server_address6':
            raise ValueError("'undefined_v6' is undefined\nmore detail")
        return super().get(key, default)


G6 = W6 + '.real_servers[0] (group lvs_real_servers) host rs1'
A6 = G6 + ': lvs_real_server_address6: '
UNICAST = 'must be a unicast IPv4 or IPv6 address'
ADDRESS6_BAD = [
    ('ipv4', '192.0.2.11', [A6 + '192.0.2.11 is not an IPv6 address']),
    ('zone-id', 'fe80::11%eth0', [A6 + UNICAST + " without a zone id (%...), got str 'fe80::11%eth0'"]),
    ('link-local', 'fe80::11', [A6 + UNICAST + ', got fe80::11 (link-local)']),
    ('ipv4-mapped', '::ffff:192.0.2.11', [A6 + UNICAST + ', got ::ffff:c000:20b (reserved)']),
    ('prefix', '2001:db8::11/64', [A6 + UNICAST + ", got str '2001:db8::11/64'"]),
    ('newline', '2001:db8::11\n', [A6 + UNICAST + ", got str '2001:db8::11\\n'"]),
    ('int', 3221225985, [A6 + UNICAST + ', got int 3221225985']),
    ('list', ['2001:db8::11'], [A6 + UNICAST + ", got list ['2001:db8::11']"]),
    ('dict', {'address': '2001:db8::11'}, [A6 + UNICAST + ", got dict {'address': '2001:db8::11'}"]),
    ('bool', True, [A6 + UNICAST + ', got bool True']),
    ('empty', '', [A6 + UNICAST + ", got str ''"]),
]


@pytest.mark.parametrize('value, expected', [case[1:] for case in ADDRESS6_BAD], ids=[case[0] for case in ADDRESS6_BAD])
def test_bad_address6_is_reported_at_the_variable(value, expected):
    hostvars = dict(DUAL_HOSTVARS, rs1={'ansible_host': '192.0.2.11', 'lvs_real_server_address6': value})
    assert dual_errors([web(), web6()], hostvars) == expected


def test_unreadable_address6_is_a_problem_not_a_traceback():
    hostvars = dict(DUAL_HOSTVARS, rs1=_Unreadable(ansible_host='192.0.2.11'))
    assert dual_errors([web(), web6()], hostvars) == [
        G6 + ": lvs_real_server_address6: cannot be read: 'undefined_v6' is undefined"]


def test_ipv6_service_with_ipv4_members_says_to_set_address6():
    errors = dual_errors([web(), web6(real_servers=[{'group': 'v4only'}, {'address': '192.0.2.30'}])])
    assert errors == [
        W6 + '.real_servers[0] (group v4only) host v4only: address 192.0.2.13 is IPv4 but the service is IPv6 '
             "(vip 2001:db8::100); set lvs_real_server_address6 to the host's IPv6 address",
        # an address item is not a host's: nothing to set there
        W6 + '.real_servers[1].address: address 192.0.2.30 is IPv4 but the service is IPv6 (vip 2001:db8::100)',
    ]


def test_every_address6_problem_at_once():
    hostvars = dict(DUAL_HOSTVARS, rs1={'ansible_host': '192.0.2.11', 'lvs_real_server_address6': '192.0.2.11'},
                    rs2={'ansible_host': '192.0.2.12', 'lvs_real_server_address6': 'fe80::12%eth0',
                         'lvs_real_server_weight': 70000})
    errors = dual_errors([web(port=0), web6(real_servers=[{'group': 'lvs_real_servers'}, {'group': 'v4only'}])],
                         hostvars)
    g = W6 + '.real_servers[0] (group lvs_real_servers) host '
    assert errors == [
        P0 + '.port: 0 is outside 1..65535',
        P0 + '.real_servers[0] (group lvs_real_servers) host rs2.lvs_real_server_weight: 70000 is outside 0..65535',
        g + 'rs1: lvs_real_server_address6: 192.0.2.11 is not an IPv6 address',
        g + 'rs2: lvs_real_server_address6: must be a unicast IPv4 or IPv6 address without a zone id (%...), '
            "got str 'fe80::12%eth0'",
        g + 'rs2.lvs_real_server_weight: 70000 is outside 0..65535',
        W6 + '.real_servers[1] (group v4only) host v4only: address 192.0.2.13 is IPv4 but the service is IPv6 '
             "(vip 2001:db8::100); set lvs_real_server_address6 to the host's IPv6 address",
    ]


# -- ipvs_services --------------------------------------------------------------------------------

def test_ipvs_services_for_a_dr_service():
    services = normalise([web(persistence=300, real_servers=[{'group': 'lvs_real_servers', 'upper_threshold': 9}])])
    assert to_ipvs_services(services) == [{
        'protocol': 'tcp', 'address': '192.0.2.100', 'port': 80, 'family': 'inet', 'scheduler': 'wrr',
        'scheduler_flags': [], 'persistence': 300,
        'destinations': [
            {'address': '192.0.2.11', 'port': 80, 'forwarding': 'dr', 'weight': 1, 'upper_threshold': 9,
             'lower_threshold': 0},
            {'address': '192.0.2.12', 'port': 80, 'forwarding': 'dr', 'weight': 2, 'upper_threshold': 9,
             'lower_threshold': 0},
        ],
    }]


def test_ipvs_services_for_nat_copies_forwarding_to_each_destination():
    services = normalise([web(forwarding='nat', gateway='198.51.100.1', scheduler='rr',
                              real_servers=[{'group': 'nat_rs', 'port': 8080}, {'address': '198.51.100.12', 'port': 8080}])])
    (virtual,) = to_ipvs_services(services)
    assert [(d['address'], d['port'], d['forwarding']) for d in virtual['destinations']] == [
        ('198.51.100.11', 8080, 'nat'), ('198.51.100.12', 8080, 'nat')]
    assert 'gateway' not in virtual and 'persistence' not in virtual and 'persistence_netmask' not in virtual


def test_ipvs_services_for_fwmark_omits_address_port_and_nulls():
    services = normalise([web(vip=None, port=None, fwmark=3, real_servers=[{'group': 'v6'}])])
    assert to_ipvs_services(services) == [{
        'fwmark': 3, 'family': 'inet6', 'scheduler': 'wrr', 'scheduler_flags': [],
        'destinations': [
            {'address': '2001:db8::a', 'forwarding': 'dr', 'weight': 1, 'upper_threshold': 0, 'lower_threshold': 0},
            {'address': '2001:db8::b', 'forwarding': 'dr', 'weight': 1, 'upper_threshold': 0, 'lower_threshold': 0},
        ],
    }]


def test_ipvs_services_rejects_raw_input():
    with pytest.raises(ModelError, match='ipvs_services expects'):
        to_ipvs_services([{'name': 'web'}])


def test_unreadable_host_var_is_reported_with_its_host():
    class Exploding(dict):
        def get(self, key, default=None):
            if key == 'lvs_real_server_weight':
                raise RuntimeError("'undefined_weight' is undefined")
            return super().get(key, default)

    hostvars = dict(HOSTVARS, web1=Exploding(HOSTVARS['web1']))
    with pytest.raises(ModelError) as info:
        normalise_services([web()], hostvars, GROUPS)
    assert info.value.errors == [P0 + ".real_servers[0] (group lvs_real_servers) host web1: lvs_real_server_weight: "
                                      "cannot be read: 'undefined_weight' is undefined"]


def test_mark_rules_one_per_protocol_of_each_fwmark_service_with_match():
    services = normalise_services([
        {'name': 'shop', 'fwmark': 7, 'vip': '192.0.2.41',
         'match': {'ports': ['9000-9100', 80], 'protocols': ['tcp', 'udp']},
         'real_servers': [{'address': '192.0.2.11'}]},
        {'name': 'v6', 'fwmark': 9, 'match': {'ports': [443], 'addresses': ['2001:db8::41', '2001:db8:1::/64']},
         'real_servers': [{'address': '2001:db8::11'}]},
        {'name': 'plain', 'fwmark': 8, 'real_servers': [{'address': '192.0.2.11'}]},
        {'name': 'web', 'vip': '192.0.2.40', 'port': 80, 'real_servers': [{'address': '192.0.2.11'}]},
    ], {}, {})
    assert to_mark_rules(services) == ['7 tcp 192.0.2.41 80,9000-9100', '7 udp 192.0.2.41 80,9000-9100',
                                       '9 tcp 2001:db8::41,2001:db8:1::/64 443']
