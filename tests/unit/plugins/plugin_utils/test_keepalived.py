# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived_config / vrrp_addresses: the directors' keepalived structure derived from the data model."""

from __future__ import annotations

import copy
import fnmatch

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.keepalived import FilterModule
from ansible_collections.lvs.cluster.plugins.plugin_utils.keepalived import _held_out_glob, keepalived_config, vrrp_addresses
from ansible_collections.lvs.cluster.plugins.plugin_utils.model import ModelError, normalise_services

HOSTVARS = {
    'lb1': {'ansible_host': '192.0.2.1'}, 'lb2': {'ansible_host': '192.0.2.2'}, 'lb3': {'ansible_host': '192.0.2.3'},
    'web1': {'ansible_host': '192.0.2.11'}, 'web2': {'ansible_host': '192.0.2.12'},
}
GROUPS = {'all': list(HOSTVARS), 'lvs_real_servers': ['web1', 'web2']}
DIRECTORS = ['lb1', 'lb2', 'lb3']
RS = [{'group': 'lvs_real_servers'}]
NAT_RS = [{'address': '198.51.100.11', 'port': 8080}]
WEB = {'name': 'web', 'vip': '192.0.2.100', 'port': 80, 'real_servers': RS}
# Two services on one VIP, two NAT services behind one gateway, a fwmark service without VIP.
MIXED = [
    WEB,
    dict(WEB, name='web-tls', port=443),
    {'name': 'app', 'vip': '192.0.2.101', 'port': 80, 'forwarding': 'nat', 'gateway': '198.51.100.1', 'real_servers': NAT_RS},
    {'name': 'api', 'vip': '192.0.2.102', 'port': 80, 'forwarding': 'nat', 'gateway': '198.51.100.1', 'real_servers': NAT_RS},
    {'name': 'marked', 'fwmark': 7, 'real_servers': RS},
]
MIXED_ADDRESSES = ['192.0.2.100', '192.0.2.101', '192.0.2.102', '198.51.100.1']
V6 = {'name': 'web6', 'vip': '2001:db8::100', 'port': 80, 'real_servers': [{'address': '2001:db8::11'}]}
SECRET = 'Lab-vrrp'


def services(*items):
    return normalise_services(copy.deepcopy(list(items or [WEB])), HOSTVARS, GROUPS)


def config(items=None, host='lb1', placement=None, hostvars=None, directors=None, **settings):
    settings.setdefault('interface', 'eth0')
    return keepalived_config(services(*(items or [WEB])), host, DIRECTORS if directors is None else directors,
                             HOSTVARS if hostvars is None else hostvars, settings, placement)


def errors(items=None, **kwargs):
    with pytest.raises(ModelError) as info:
        config(items, **kwargs)
    return info.value.errors


# -- VRRP instances -------------------------------------------------------------------------------

def test_one_instance_per_vip_then_per_nat_gateway():
    cfg = config(MIXED)
    assert vrrp_addresses(services(*MIXED)) == MIXED_ADDRESSES
    assert [(i['name'], i['address'], i['kind'], i['prefix'], i['virtual_router_id']) for i in cfg['instances']] == [
        ('lvs_vip_192_0_2_100', '192.0.2.100', 'vip', 32, 51),
        ('lvs_vip_192_0_2_101', '192.0.2.101', 'vip', 32, 52),
        ('lvs_vip_192_0_2_102', '192.0.2.102', 'vip', 32, 53),
        ('lvs_gw_198_51_100_1', '198.51.100.1', 'gateway', 32, 54),
    ]
    assert cfg['router_id'] == 'lb1'


def test_ipv6_instance_name_prefix_and_no_authentication():
    (v4, v6) = config([WEB, V6], auth_pass=SECRET)['instances']
    assert (v4['family'], v4['auth']) == ('inet', True)
    assert (v6['name'], v6['family'], v6['prefix'], v6['auth']) == ('lvs_vip_2001_db8__100', 'inet6', 128, False)


@pytest.mark.parametrize('settings, expected', [
    ({}, [51, 52, 53, 54]),
    ({'virtual_router_id_base': 100}, [100, 101, 102, 103]),
    ({'virtual_router_ids': {'192.0.2.101': 52}}, [51, 52, 53, 54]),
    ({'virtual_router_ids': {'192.0.2.102': 51}}, [52, 53, 51, 54]),  # automatic ids skip the explicit one
    ({'virtual_router_ids': {'198.51.100.1': 200, '192.0.2.100': 52}}, [52, 51, 53, 200]),
    ({'virtual_router_id_base': 254, 'virtual_router_ids': {'198.51.100.1': 1}}, None),  # 254, 255, then no more
], ids=['base-51', 'base-100', 'explicit-same-as-auto', 'explicit-skipped', 'explicit-two', 'exhausted'])
def test_router_ids(settings, expected):
    if expected is None:
        assert errors(MIXED, **settings)[0].startswith('keepalived_virtual_router_id_base: not enough router ids from 254')
    else:
        assert [i['virtual_router_id'] for i in config(MIXED, **settings)['instances']] == expected


def test_explicit_router_id_key_is_canonicalised():
    (v6,) = config([V6], virtual_router_ids={'2001:DB8:0::100': 9})['instances']
    assert v6['virtual_router_id'] == 9


@pytest.mark.parametrize('ids, expected', [
    ({'192.0.2.200': 60}, 'keepalived_virtual_router_ids[192.0.2.200]: is not a VIP or NAT gateway of '
                          'lvs_virtual_services (those are: 192.0.2.100, 192.0.2.101, 192.0.2.102, 198.51.100.1)'),
    ({'eth0': 60}, 'keepalived_virtual_router_ids[eth0]: is not a VIP or NAT gateway'),
    ({'192.0.2.100': 0}, 'keepalived_virtual_router_ids[192.0.2.100]: 0 is outside 1..255'),
    ({'192.0.2.100': 256}, 'keepalived_virtual_router_ids[192.0.2.100]: 256 is outside 1..255'),
    ({'192.0.2.100': '60'}, "keepalived_virtual_router_ids[192.0.2.100]: must be an integer 1..255, got str '60'"),
    ({'192.0.2.100%x': 60}, 'keepalived_virtual_router_ids[192.0.2.100%x]: is not a VIP or NAT gateway'),
    ({'192.0.2.100\n': 60}, "keepalived_virtual_router_ids['192.0.2.100\\n']: is not a VIP or NAT gateway"),
    ({'192.0.2.100': 60, '192.0.2.102': 60},
     'keepalived_virtual_router_ids: router id 60 is used twice on eth0 (192.0.2.100 and 192.0.2.102): ids must be '
     'unique per interface'),
    ([60], 'keepalived_virtual_router_ids: must be a mapping of address -> id'),
], ids=['unknown-address', 'not-an-address', 'zero', '256', 'string', 'zone-id', 'trailing-newline',
        'duplicate-same-interface', 'not-a-mapping'])
def test_bad_router_ids(ids, expected):
    found = errors(MIXED, virtual_router_ids=ids)
    assert len(found) == 1 and found[0].startswith(expected), found


@pytest.mark.parametrize('base, message', [(0, '0 is outside 1..255'), (256, '256 is outside 1..255'),
                                           ('51', "must be an integer 1..255, got str '51'")])
def test_bad_router_id_base(base, message):
    assert errors(virtual_router_id_base=base) == ['keepalived_virtual_router_id_base: ' + message]


def test_same_router_id_on_different_interfaces_is_allowed():
    placement = {'192.0.2.100': 'eth0', '192.0.2.101': 'eth1', '192.0.2.102': 'eth0', '198.51.100.1': 'eth1'}
    cfg = config(MIXED, placement=placement, interface='', virtual_router_ids={'192.0.2.100': 60, '192.0.2.101': 60})
    assert [(i['interface'], i['virtual_router_id']) for i in cfg['instances']] == [
        ('eth0', 60), ('eth1', 60), ('eth0', 51), ('eth1', 52)]


def test_same_router_id_for_ipv4_and_ipv6_on_one_interface_is_allowed():
    cfg = config([WEB, V6], virtual_router_ids={'192.0.2.100': 60, '2001:db8::100': 60})
    assert [i['virtual_router_id'] for i in cfg['instances']] == [60, 60]


def test_interface_from_placement_else_setting_else_unknown():
    assert [i['interface'] for i in config(MIXED, placement={'192.0.2.101': 'eth1'})['instances']] == [
        'eth0', 'eth1', 'eth0', 'eth0']
    assert [i['interface'] for i in config(MIXED, interface='')['instances']] == [None] * 4  # before facts


@pytest.mark.parametrize('interface, given', [
    ('eth 0', "str 'eth 0'"), ('a' * 16, "str '%s'" % ('a' * 16)), (5, 'int 5'), ('eth0\n', "str 'eth0\\n'"),
    (' eth0', "str ' eth0'"), ('eth0;', "str 'eth0;'"), ('eth\u00e9', "str 'eth\u00e9'"), ('..', "str '..'"),
], ids=['space', '16-chars', 'int', 'trailing-newline', 'leading-space', 'semicolon', 'non-ascii', 'dotdot'])
def test_bad_interface(interface, given):
    expected = ('must be an interface name, got ' if interface == '..' else
                'must be an interface name (1 to 15 of A-Z a-z 0-9 _ . @ : -) or empty, got ')
    assert errors(interface=interface) == ['keepalived_interface: ' + expected + given]


@pytest.mark.parametrize('placement', [{'192.0.2.100': 'eth0\n'}, {'192.0.2.100': 'eth0 dev lo'}, {'192.0.2.100': None}])
def test_bad_interface_from_placement(placement):
    (line,) = errors(interface='', placement=placement)
    assert line.startswith('keepalived_interface (for 192.0.2.100): must be an interface name'), line


@pytest.mark.parametrize('hostname', ['lb1\n', 'lb 1', 'lb1#x', 'lb{1}'])
def test_bad_hostname_cannot_be_the_router_id(hostname):
    found = errors(host=hostname, directors=[hostname])
    assert found[0].startswith("inventory_hostname: must be usable as keepalived's router_id"), found


# -- priorities and state ---------------------------------------------------------------------------

@pytest.mark.parametrize('host, hostvars, settings, expected', [
    ('lb1', {}, {}, (150, 'MASTER')),
    ('lb2', {}, {}, (140, 'BACKUP')),
    ('lb3', {}, {}, (130, 'BACKUP')),
    ('lb3', {}, {'priority': 200}, (200, 'MASTER')),
    ('lb1', {}, {'priority': 0}, (150, 'MASTER')),  # 0 = automatic
    # Another director's keepalived_priority comes from hostvars: lb1 at 100 makes lb2 (140) the master.
    ('lb2', {'lb1': {'keepalived_priority': 100}}, {}, (140, 'MASTER')),
    ('lb1', {'lb1': {'keepalived_priority': 100}}, {'priority': 100}, (100, 'BACKUP')),
    ('lb2', {'lb1': {'keepalived_priority': 0}}, {}, (140, 'BACKUP')),
    ('lb1', {}, {'preempt': False}, (150, 'BACKUP')),  # nopreempt: everyone starts as BACKUP
], ids=['first', 'second', 'third', 'explicit-top', 'zero-is-auto', 'other-from-hostvars', 'own-setting',
        'other-zero-is-auto', 'no-preempt'])
def test_priority_and_state(host, hostvars, settings, expected):
    cfg = config(MIXED, host=host, hostvars=dict(HOSTVARS, **hostvars), **settings)
    assert {(i['priority'], i['state']) for i in cfg['instances']} == {expected}


def test_preempt_settings_reach_every_instance():
    assert {(i['preempt'], i['preempt_delay'], i['advert_int']) for i in config(MIXED)['instances']} == {(True, 0, '1')}
    cfg = config(MIXED, preempt_delay=30, advert_int=3)
    assert {(i['preempt'], i['preempt_delay'], i['advert_int']) for i in cfg['instances']} == {(True, 30, '3')}
    assert {i['preempt'] for i in config(MIXED, preempt=False)['instances']} == {False}


@pytest.mark.parametrize('version, given, expected', [
    (2, 1, '1'), (2, 1.0, '1'), (2, 255, '255'), (3, 1, '1'), (3, 0.3, '0.3'), (3, 0.25, '0.25'), (3, 0.01, '0.01'),
    (3, 40.95, '40.95'), (3, 2.0, '2'), (3, 1.1, '1.1'),
])
def test_advert_int_is_written_as_keepalived_reads_it(version, given, expected):
    cfg = config(MIXED, advert_int=given, vrrp_version=version)
    assert {i['advert_int'] for i in cfg['instances']} == {expected}
    assert cfg['vrrp_version'] == version


def test_an_invalid_version_is_the_only_error_about_it():
    assert errors(vrrp_version=4, advert_int=0.25) == ['keepalived_vrrp_version: must be 2 or 3, got int 4']


def test_the_same_version_and_interval_on_another_director_is_fine():
    hostvars = dict(HOSTVARS, lb2={'keepalived_vrrp_version': 3, 'keepalived_advert_int': 0.25})
    assert config(MIXED, hostvars=hostvars, vrrp_version=3, advert_int=0.25)['vrrp_version'] == 3


def test_every_service_names_its_ipvsadm_id_for_the_unit():
    more = [V6, dict(V6, name='dns6', port=53, protocol='udp'),
            {'name': 'm6', 'fwmark': 9, 'real_servers': [{'address': '2001:db8::11'}]}]
    ids = [vs['ipvs_id'] for vs in config(MIXED + more)['virtual_servers']]
    assert ids == ['-t 192.0.2.100:80', '-t 192.0.2.100:443', '-t 192.0.2.101:80', '-t 192.0.2.102:80', '-f 7',
                   '-t [2001:db8::100]:80', '-u [2001:db8::100]:53', '-f 9 -6']


@pytest.mark.parametrize('host, hostvars, settings, expected', [
    ('lb2', {}, {'priority': 150}, 'keepalived_priority: 150 is also the priority of lb1: give each director its own'),
    ('lb2', {'lb1': {'keepalived_priority': 140}}, {}, 'keepalived_priority: 140 is also the priority of lb1'),
    ('lb1', {}, {'priority': 255}, 'keepalived_priority: 255 is outside 1..254'),
    ('lb1', {}, {'priority': -1}, 'keepalived_priority: -1 is outside 1..254'),
    ('lb1', {}, {'priority': '100'}, "keepalived_priority: must be an integer 1..254, got str '100'"),
    ('lb1', {'lb2': {'keepalived_priority': 300}}, {}, 'keepalived_priority (host lb2): 300 is outside 1..254'),
    ('lb9', {}, {}, 'lvs_directors: host lb9 is not in the group, so it has no VRRP priority'),
    ('lb1', {}, {'preempt': 'yes'}, "keepalived_preempt: must be true or false, got str 'yes'"),
    ('lb1', {}, {'preempt_delay': 1001}, 'keepalived_preempt_delay: 1001 is outside 0..1000'),
    ('lb1', {}, {'advert_int': 0}, 'keepalived_advert_int: 0 is outside 1..255'),
    ('lb1', {}, {'advert_int': 10 ** 5000}, 'keepalived_advert_int: a 16610-bit integer is outside 1..255'),
    ('lb1', {}, {'advert_int': 0.5}, 'keepalived_advert_int: 0.5: fractions of a second need keepalived_vrrp_version: 3'),
    ('lb1', {}, {'advert_int': 0.5, 'vrrp_version': 3, 'auth_pass': SECRET},
     'keepalived_auth_pass: VRRP version 3 has no authentication (keepalived would ignore it): leave it empty, '
     'or set keepalived_vrrp_version: 2'),
    ('lb1', {}, {'advert_int': 0.005, 'vrrp_version': 3},
     'keepalived_advert_int: 0.005 has more than two decimals: VRRPv3 counts in hundredths of a second'),
    ('lb1', {}, {'advert_int': 41, 'vrrp_version': 3}, 'keepalived_advert_int: 41 is outside 0.01..40.95 (VRRPv3)'),
    ('lb1', {}, {'advert_int': float('nan'), 'vrrp_version': 3},
     'keepalived_advert_int: must be a number of seconds 0.01..40.95, got float nan'),
    ('lb1', {}, {'advert_int': '0.5', 'vrrp_version': 3},
     "keepalived_advert_int: must be a number of seconds 0.01..40.95, got str '0.5'"),
    ('lb1', {}, {'vrrp_version': '3'},
     "keepalived_vrrp_version: must be 2 or 3, got str '3' (give -e a number: -e '{\"keepalived_vrrp_version\": 3}')"),
    ('lb1', {}, {'advert_int': 255.5}, 'keepalived_advert_int: must be an integer 1..255, got float 255.5'),
    ('lb1', {'lb2': {'keepalived_vrrp_version': 3}}, {},
     'keepalived_vrrp_version: is 2 here but 3 on lb2: every director must use the same (VRRPv2 and VRRPv3 do not '
     'hear each other)'),
    ('lb1', {'lb2': {'keepalived_advert_int': 0.5}}, {'vrrp_version': 3, 'advert_int': 0.25},
     'keepalived_advert_int: is 0.25 here but 0.5 on lb2: every director must use the same (a VRRP router drops '
     'advertisements sent at another interval)'),
    ('lb1', {}, {'vrrp_version': 4}, 'keepalived_vrrp_version: must be 2 or 3, got int 4'),
], ids=['same-as-auto', 'same-as-hostvar', '255', 'negative', 'string', 'other-out-of-range', 'not-a-director',
        'preempt-string', 'preempt-delay', 'advert-int', 'advert-int-huge', 'v2-fraction', 'v3-auth',
        'v3-three-decimals', 'v3-too-long', 'v3-nan', 'v3-string', 'version-string', 'v2-fraction-too-long',
        'version-differs', 'interval-differs', 'version-4'])
def test_bad_priority_settings(host, hostvars, settings, expected):
    found = errors(host=host, hostvars=dict(HOSTVARS, **hostvars), **settings)
    assert len(found) == 1 and found[0].startswith(expected), found


# -- sync group and sync daemon ---------------------------------------------------------------------

def test_sync_group_only_with_more_than_one_instance():
    assert config()['sync_group'] == []
    assert config([WEB, dict(WEB, name='web-tls', port=443)])['sync_group'] == []  # one VIP
    assert config(MIXED)['sync_group'] == ['lvs_vip_192_0_2_100', 'lvs_vip_192_0_2_101', 'lvs_vip_192_0_2_102',
                                           'lvs_gw_198_51_100_1']


@pytest.mark.parametrize('settings, placement, expected', [
    ({}, None, {'interface': 'eth0', 'instance': 'lvs_vip_192_0_2_100', 'id': 51}),
    ({'virtual_router_id_base': 70}, None, {'interface': 'eth0', 'instance': 'lvs_vip_192_0_2_100', 'id': 70}),
    ({'interface': ''}, {'192.0.2.100': 'bond0'}, {'interface': 'bond0', 'instance': 'lvs_vip_192_0_2_100', 'id': 51}),
    ({'sync_interface': 'eth1', 'sync_id': 7}, None, {'interface': 'eth1', 'instance': 'lvs_vip_192_0_2_100', 'id': 7}),
    ({'sync_daemon': False}, None, None),
], ids=['defaults', 'id-follows-first-router-id', 'first-instance-interface', 'explicit', 'disabled'])
def test_sync_daemon(settings, placement, expected):
    assert config(MIXED, placement=placement, **settings)['sync_daemon'] == expected


@pytest.mark.parametrize('settings, expected', [
    ({'sync_daemon': 'no'}, "keepalived_sync_daemon: must be true or false, got str 'no'"),
    ({'sync_id': 256}, 'keepalived_sync_id: 256 is outside 0..255'),
    ({'sync_interface': 'eth 1'}, 'keepalived_sync_interface: must be an interface name (1 to 15 of A-Z a-z 0-9 _ . @ '
                                  ": -) or empty, got str 'eth 1'"),
    ({'sync_interface': 'eth1\n'}, 'keepalived_sync_interface: must be an interface name (1 to 15 of A-Z a-z 0-9 _ . @ '
                                   ": -) or empty, got str 'eth1\\n'"),
])
def test_bad_sync_settings(settings, expected):
    assert errors(**settings) == [expected]


# -- authentication ---------------------------------------------------------------------------------

@pytest.mark.parametrize('secret', ['Lab-vrrp9', 'ab cd', 'ab"cd', 'ab#cdefg', '!abc', 'a{b}', 'ab\\', 'a$_PWD', 'pässwd',
                                    12345678, 'secret\n', None],
                         ids=['9-chars', 'space', 'double-quote', 'hash', 'bang', 'braces', 'backslash', 'dollar',
                              'non-ascii', 'not-a-string', 'trailing-newline', 'null'])
def test_bad_secret_is_rejected_without_being_echoed(secret):
    with pytest.raises(ModelError) as info:
        config(auth_pass=secret)
    assert info.value.errors == ['keepalived_auth_pass: must be 1..8 printable characters without spaces, double '
                                 'quotes, # ! $ \\ { or } (value hidden)']
    assert str(secret) not in str(info.value)
    assert 'keepalived_auth_pass' in str(info.value)


@pytest.mark.parametrize('secret, auth', [(SECRET, True), ("a'b(c)*~", True), ('', False)])
def test_authentication_flag(secret, auth):
    cfg = config(MIXED, auth_pass=secret)
    assert {i['auth'] for i in cfg['instances']} == {auth}
    assert not secret or secret not in repr(cfg)  # the secret lives in its own file, not in the structure


# -- virtual_server blocks --------------------------------------------------------------------------

def test_virtual_servers_mapping():
    items = [
        dict(WEB, scheduler='sh', scheduler_flags=['sh-port'], persistence=300, persistence_netmask='255.255.255.0',
             quorum=2, hysteresis=1, inhibit_on_failure=True, sorry_server={'address': '192.0.2.50'},
             real_servers=[{'group': 'lvs_real_servers', 'weight': 3, 'upper_threshold': 100, 'lower_threshold': 50}]),
        MIXED[2],
        {'name': 'dns', 'vip': '192.0.2.103', 'port': 53, 'protocol': 'udp', 'forwarding': 'tun',
         'health_check': {'type': 'none'}, 'real_servers': [{'address': '203.0.113.5'}]},
        {'name': 'marked', 'fwmark': 7, 'vip': '192.0.2.104', 'port': 80, 'protocol': 'sctp', 'real_servers': RS},
    ]
    web, app, dns, marked = config(items)['virtual_servers']
    assert web == {
        'name': 'web', 'ipvs_id': '-t 192.0.2.100:80', 'fwmark': None, 'address': '192.0.2.100', 'port': 80,
        'protocol': 'TCP', 'lb_algo': 'sh',
        'lb_kind': 'DR', 'flags': ['sh-port'], 'persistence_timeout': 300, 'persistence_granularity': '255.255.255.0',
        'delay_loop': 5, 'quorum': 2, 'hysteresis': 1, 'inhibit_on_failure': True,
        'sorry_server': {'address': '192.0.2.50', 'port': 80},
        'check': {'type': 'tcp_check', 'path': '/', 'status_code': 200, 'script': None, 'connect_timeout': 3,
                  'timeout': 5, 'retries': 1, 'delay_before_retry': 1, 'delay_loop': 5},
        'real_servers': [
            {'address': '192.0.2.11', 'port': 80, 'weight': 3, 'uthreshold': 100, 'lthreshold': 50, 'host': 'web1',
             'held_out_glob': '[1]92.0.2.11'},
            {'address': '192.0.2.12', 'port': 80, 'weight': 3, 'uthreshold': 100, 'lthreshold': 50, 'host': 'web2',
             'held_out_glob': '[1]92.0.2.12'}],
    }
    assert (app['lb_kind'], app['sorry_server'], app['inhibit_on_failure'], app['quorum'], app['hysteresis']) == (
        'NAT', None, False, 1, 0)
    assert [(r['address'], r['port'], r['host']) for r in app['real_servers']] == [('198.51.100.11', 8080, None)]
    assert (dns['lb_kind'], dns['protocol'], dns['check']) == ('TUN', 'UDP', None)
    assert (marked['fwmark'], marked['address'], marked['port'], marked['protocol']) == (7, None, None, 'SCTP')
    assert (dns['ipvs_id'], marked['ipvs_id']) == ('-u 192.0.2.103:53', '-f 7')
    assert [r['port'] for r in marked['real_servers']] == [80, 80]  # kept for connect_port


# The file that drain writes for a real server, as a glob that matches it alone (an unmatched glob is silent).
@pytest.mark.parametrize('address, glob', [('192.0.2.11', '[1]92.0.2.11'), ('2001:db8::11', '[2]001:db8::11'),
                                           ('::ffff:c000:20b', '::[f]fff:c000:20b')])
def test_held_out_glob_matches_the_address_alone(address, glob):
    assert _held_out_glob(address) == glob
    assert fnmatch.fnmatchcase(address, glob)
    assert not any(fnmatch.fnmatchcase(other, glob) for other in (address + '1', '1' + address, address[:-1]))


@pytest.mark.parametrize('check, scripts', [
    ({'type': 'misc_check', 'script': '/usr/local/bin/check --quick'}, True),
    ({'type': 'http_get'}, False), ({'type': 'none'}, False), (None, False),
])
def test_scripts_only_with_a_misc_check(check, scripts):
    assert config([WEB, dict(WEB, name='other', port=81, health_check=check)])['scripts'] is scripts


# -- errors and the filters ---------------------------------------------------------------------------

def test_every_error_is_reported_at_once():
    found = errors(MIXED, priority=255, preempt='yes', auth_pass='x' * 9, virtual_router_id_base=0,
                   virtual_router_ids={'192.0.2.200': 5}, sync_id=300)
    assert [line.split(':')[0] for line in found] == [
        'keepalived_priority', 'keepalived_virtual_router_ids[192.0.2.200]', 'keepalived_virtual_router_id_base',
        'keepalived_preempt', 'keepalived_auth_pass', 'keepalived_sync_id']


def test_raw_services_are_rejected():
    with pytest.raises(ModelError, match='keepalived_config expects the output of lvs.cluster.virtual_services'):
        keepalived_config([{'name': 'web'}], 'lb1', DIRECTORS, HOSTVARS, {})


def test_filters():
    filters = FilterModule().filters()
    assert sorted(filters) == ['keepalived_config', 'vrrp_addresses']
    assert filters['vrrp_addresses'](services(*MIXED)) == MIXED_ADDRESSES
    with pytest.raises(AnsibleFilterError) as info:
        filters['keepalived_config'](services(), 'lb1', DIRECTORS, HOSTVARS, {'priority': 255, 'auth_pass': 'a b'})
    assert str(info.value).split('\n') == [
        'invalid keepalived settings:', 'keepalived_priority: 255 is outside 1..254',
        'keepalived_auth_pass: must be 1..8 printable characters without spaces, double quotes, # ! $ \\ { or } '
        '(value hidden)']
    with pytest.raises(AnsibleFilterError, match='vrrp_addresses expects the output of lvs.cluster.virtual_services'):
        filters['vrrp_addresses']([{'name': 'web'}])


# -- unicast VRRP ---------------------------------------------------------------------------------

def director_facts(address, netmask='255.255.255.0', iface='eth0', six=None):
    facts = {'interfaces': ['lo', iface], 'lo': {'ipv4': {'address': '127.0.0.1', 'netmask': '255.0.0.0'}},
             iface: {'ipv4': {'address': address, 'netmask': netmask}}}
    if six:
        facts[iface]['ipv6'] = [{'address': 'fe80::1%' + iface, 'prefix': '64'}, {'address': six, 'prefix': '64'}]
    return {'ansible_facts': facts}


def unicast_hostvars(**extra):
    hostvars = copy.deepcopy(HOSTVARS)
    for name, address in (('lb1', '192.0.2.1'), ('lb2', '192.0.2.2'), ('lb3', '192.0.2.3')):
        hostvars[name].update(director_facts(address, six='2001:db8::%s' % name[-1]))
    for name, values in extra.items():
        hostvars[name].update(values)
    return hostvars


def test_unicast_peers_are_the_other_directors_on_the_vips_subnet():
    cfg = config([WEB, V6], unicast=True, hostvars=unicast_hostvars(), placement={})
    v4, v6 = cfg['instances']
    assert (v4['unicast_src_ip'], v4['unicast_peers']) == ('192.0.2.1', ['192.0.2.2', '192.0.2.3'])
    assert (v6['unicast_src_ip'], v6['unicast_peers']) == ('2001:db8::1', ['2001:db8::2', '2001:db8::3'])


def test_unicast_address_set_by_hand_wins_over_facts():
    hostvars = unicast_hostvars(lb3={'keepalived_unicast_address': '192.0.2.33'})
    cfg = config([WEB], unicast=True, unicast_address='192.0.2.11', hostvars=hostvars, placement={})
    assert (cfg['instances'][0]['unicast_src_ip'], cfg['instances'][0]['unicast_peers']) == \
        ('192.0.2.11', ['192.0.2.2', '192.0.2.33'])


def test_multicast_by_default_and_no_peers_before_facts():
    assert 'unicast_peers' not in config([WEB], hostvars=unicast_hostvars(), placement={})['instances'][0]
    # preflight (no placement yet): only the settings are checked
    assert 'unicast_peers' not in config([WEB], unicast=True)['instances'][0]


def test_unicast_needs_an_address_for_every_director():
    hostvars = unicast_hostvars(lb2={'ansible_facts': {}}, lb3={'ansible_facts': director_facts('198.51.100.3')['ansible_facts']})
    assert errors([WEB], unicast=True, hostvars=hostvars, placement={}) == [
        'keepalived_unicast_address (host lb2): no address of lb2 on the subnet of 192.0.2.100 is known for unicast '
        'VRRP: gather its facts in this play (every director in one play), or set keepalived_unicast_address on it',
        'keepalived_unicast_address (host lb3): no address of lb3 on the subnet of 192.0.2.100 is known for unicast '
        'VRRP: gather its facts in this play (every director in one play), or set keepalived_unicast_address on it']


@pytest.mark.parametrize('settings, hostvars_extra, expected', [
    ({'unicast': 'yes please'}, {}, 'keepalived_unicast: '),
    ({'unicast': True, 'unicast_address': '192.0.2.1\n'}, {}, 'keepalived_unicast_address: '),
    ({'unicast': True}, {'lb2': {'keepalived_unicast_address': '224.0.0.18'}}, 'keepalived_unicast_address (host lb2): '),
])
def test_bad_unicast_settings(settings, hostvars_extra, expected):
    found = errors([WEB], hostvars=unicast_hostvars(**hostvars_extra), placement={}, **settings)
    assert len(found) >= 1 and found[0].startswith(expected), found


def test_every_explicit_unicast_address_is_checked_in_preflight_already():
    hostvars = unicast_hostvars(lb3={'keepalived_unicast_address': 'not-an-ip'})
    found = errors([WEB], unicast=True, hostvars=hostvars)  # no placement: preflight
    assert len(found) == 1 and found[0].startswith('keepalived_unicast_address (host lb3): '), found


def test_directors_must_agree_on_unicast():
    hostvars = unicast_hostvars(lb2={'keepalived_unicast': False})
    assert errors([WEB], unicast=True, hostvars=hostvars, placement={}) == [
        'keepalived_unicast: is True here but False on lb2: every director must use the same '
        '(multicast and unicast VRRP do not hear each other)']


def test_directors_need_addresses_of_their_own():
    hostvars = unicast_hostvars(lb2={'keepalived_unicast_address': '192.0.2.1'})
    assert errors([WEB], unicast=True, hostvars=hostvars, placement={}) == [
        'keepalived_unicast_address: directors share an address for 192.0.2.100 (192.0.2.1, 192.0.2.1, 192.0.2.3): '
        'each needs its own']


def test_one_explicit_address_per_family_for_dual_stack():
    hostvars = unicast_hostvars(lb2={'keepalived_unicast_address': ['2001:db8::22', '192.0.2.22']})
    v4, v6 = config([WEB, V6], unicast=True, hostvars=hostvars, placement={})['instances']
    assert v4['unicast_peers'] == ['192.0.2.22', '192.0.2.3'] and v6['unicast_peers'] == ['2001:db8::22', '2001:db8::3']
    hostvars = unicast_hostvars(lb2={'keepalived_unicast_address': ['192.0.2.22', '192.0.2.23']})
    assert errors([WEB], unicast=True, hostvars=hostvars, placement={}) == [
        'keepalived_unicast_address (host lb2): give at most one address per family, got 192.0.2.22 and 192.0.2.23']


def test_the_address_on_the_instances_interface_comes_first():
    hostvars = unicast_hostvars()
    facts = hostvars['lb1']['ansible_facts']
    facts['interfaces'] = ['lo', 'eth0', 'eth1']
    facts['eth0'] = {'ipv4': {'address': '192.0.2.41', 'netmask': '255.255.255.0'}}
    facts['eth1'] = {'ipv4': {'address': '192.0.2.1', 'netmask': '255.255.255.0'}}
    inst = config([WEB], unicast=True, hostvars=hostvars, placement={'192.0.2.100': 'eth1'})['instances'][0]
    assert inst['unicast_src_ip'] == '192.0.2.1'
