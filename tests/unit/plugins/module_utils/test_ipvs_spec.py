# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canonicalisation of the `services` option (module_utils/ipvs_spec.py)."""

from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_spec import IpvsInputError, desired_table


def one(**svc):
    desired, absent = desired_table([svc])
    assert absent == []
    assert len(desired) == 1
    return list(desired.values())[0]


def test_defaults_are_filled():
    s = one(address='192.0.2.1', port=80, destinations=[{'address': '198.51.100.1'}])
    assert s['id'] == '-t 192.0.2.1:80'
    assert (s['protocol'], s['scheduler'], s['scheduler_flags'], s['persistence'], s['persistence_netmask']) == \
        ('tcp', 'wlc', [], None, None)
    d = s['destinations']['198.51.100.1:80']
    assert (d['port'], d['forwarding'], d['weight'], d['upper_threshold'], d['lower_threshold']) == \
        (80, 'dr', 1, 0, 0)


def test_ipv6_is_compressed_and_bracketed():
    s = one(address='2001:DB8:0:0::1', port=443, destinations=[{'address': '2001:db8:0::0:a', 'forwarding': 'nat',
                                                                'port': 8443}])
    assert s['id'] == '-t [2001:db8::1]:443'
    assert list(s['destinations']) == ['[2001:db8::a]:8443']


@pytest.mark.parametrize('given, canonical', [
    ('255.255.255.0', '255.255.255.0'), (24, '255.255.255.0'), ('16', '255.255.0.0'),
    ('255.255.255.255', None), (32, None), ('128.0.0.0', '128.0.0.0'), (1, '128.0.0.0'),
])
def test_ipv4_netmask(given, canonical):
    s = one(address='192.0.2.1', port=80, persistence=300, persistence_netmask=given)
    assert s['persistence_netmask'] == canonical


@pytest.mark.parametrize('given, canonical', [(64, '64'), ('48', '48'), (128, None)])
def test_ipv6_netmask(given, canonical):
    s = one(fwmark=3, family='inet6', persistence=300, persistence_netmask=given)
    assert s['persistence_netmask'] == canonical
    assert s['id'] == '-f 3 -6'


@pytest.mark.parametrize('given', ['0.0.0.255', '255.0.255.0', '0.0.0.0', 0, 33, '255.255.255.0\n', ' 24', '\u00b2',
                                   '255.255.255.00', '255.255.255', True, 24.0])
def test_ipv4_netmask_must_be_a_contiguous_dotted_mask_or_a_prefix_length(given):
    with pytest.raises(IpvsInputError) as info:
        one(address='192.0.2.1', port=80, persistence=300, persistence_netmask=given)
    assert info.value.path == 'services[0].persistence_netmask'


def test_string_numbers_of_ascii_digits_are_accepted():
    s = one(address='192.0.2.1', port='80', persistence='300',
            destinations=[{'address': '198.51.100.1', 'weight': '7', 'upper_threshold': '9', 'lower_threshold': '3'}])
    d = s['destinations']['198.51.100.1:80']
    assert (s['port'], s['persistence'], d['weight'], d['upper_threshold'], d['lower_threshold']) == (80, 300, 7, 9, 3)


def test_choices_are_taken_in_any_ascii_case():
    s = one(address='192.0.2.1', port=80, protocol='UDP', scheduler='Sh', scheduler_flags=['SH-PORT'],
            destinations=[{'address': '198.51.100.1', 'forwarding': 'DR'}])
    assert (s['protocol'], s['scheduler'], s['scheduler_flags']) == ('udp', 'sh', ['sh-port'])
    with pytest.raises(IpvsInputError) as info:  # not any Unicode case: the Kelvin sign is no 'k'
        one(address='192.0.2.1', port=80, scheduler='mh', scheduler_flags=['mh-fallbac\u212a'])
    assert info.value.path == 'services[0].scheduler_flags[0]'


def test_persistence_zero_means_not_persistent():
    assert one(address='192.0.2.1', port=80, persistence=0)['persistence'] is None


def test_flags_sorted_deduplicated_and_named_for_scheduler():
    s = one(address='192.0.2.1', port=80, scheduler='mh', scheduler_flags=['flag-3', 'mh-port', 'flag-2'])
    assert s['scheduler_flags'] == ['mh-port', 'flag-3']
    s = one(address='192.0.2.1', port=80, scheduler='rr', scheduler_flags=['flag-2', 'flag-1'])
    assert s['scheduler_flags'] == ['flag-1', 'flag-2']


def test_fwmark_family_from_address_and_port_defaults_to_zero():
    s = one(fwmark=9, address='2001:db8::5', port=80, destinations=[{'address': '2001:db8::7'}])
    assert s['id'] == '-f 9 -6'
    assert list(s['destinations']) == ['[2001:db8::7]:0']


def test_absent_services_are_returned_separately():
    desired, absent = desired_table([{'address': '192.0.2.1', 'port': 80, 'state': 'absent'},
                                     {'fwmark': 4}])
    assert absent == ['-t 192.0.2.1:80']
    assert list(desired) == ['-f 4']


@pytest.mark.parametrize('services, path', [
    ('nope', 'services'),
    (['nope'], 'services[0]'),
    ([{'address': '192.0.2.1', 'port': 80, 'destinations': 'x'}], 'services[0].destinations'),
    ([{'address': '192.0.2.1', 'port': 80, 'destinations': [{'port': 80}]}], 'services[0].destinations[0].address'),
    ([{'address': '192.0.2.1', 'port': 80, 'destinations': [{'address': '198.51.100.1', 'weight': True}]}],
     'services[0].destinations[0].weight'),
    ([{'address': '192.0.2.1', 'port': 80, 'destinations': [{'address': '198.51.100.1', 'upper_threshold': 65536}]}],
     'services[0].destinations[0].upper_threshold'),
    ([{'address': '192.0.2.1', 'port': 80, 'persistence': 2678401}], 'services[0].persistence'),
    ([{'fwmark': 1, 'family': 'inet6', 'persistence': 1, 'persistence_netmask': 129}],
     'services[0].persistence_netmask'),
    ([{'address': '192.0.2.1', 'port': 80, 'scheduler_flags': ['sh-port']}], 'services[0].scheduler_flags[0]'),
    ([{'address': '192.0.2.1', 'port': 80, 'state': 'gone'}], 'services[0].state'),
    ([{'address': '192.0.2.1', 'port': 80}, {'address': '192.0.2.1', 'port': 80, 'state': 'absent'}],
     'services[1]'),
    ([{'address': '2001:db8::1%eth0', 'port': 80}], 'services[0].address'),
    ([{'address': '192.0.2.1', 'port': 80, 'destinations': [{'address': '0.0.0.0'}]}],
     'services[0].destinations[0].address'),
    ([{'address': '192.0.2.1', 'port': 80, 'destinations': [{'address': '192.0.2.1'}]}],
     'services[0].destinations[0].address'),
    ([{'address': '192.0.2.1', 'port': '\u00b2'}], 'services[0].port'),
    ([{'address': '192.0.2.1', 'port': 80, 'destinations': [
        {'address': '198.51.100.1', 'upper_threshold': 5, 'lower_threshold': 6}]}],
     'services[0].destinations[0].lower_threshold'),
    ([{'address': '192.0.2.1', 'port': 80, 'scheduler': 'wrr\n'}], 'services[0].scheduler'),
])
def test_errors_carry_the_path(services, path):
    with pytest.raises(IpvsInputError) as info:
        desired_table(services)
    assert info.value.path == path
    assert str(info.value).startswith(path + ': ')


def test_destination_paths_name_the_service_and_the_item_further_down():
    """Destination paths are only built for an error: they must still name the right indexes."""
    dests = [{'address': '198.51.100.%d' % i} for i in range(1, 5)]
    services = [{'address': '192.0.2.1', 'port': 80}, {'address': '192.0.2.2', 'port': 80, 'destinations': dests}]
    with pytest.raises(IpvsInputError) as info:
        desired_table([services[0], dict(services[1], destinations=dests + [{'address': '198.51.100.2'}])])
    assert str(info.value) == ('services[1].destinations[4]: duplicate of services[1].destinations[1] '
                               '(198.51.100.2:80)')
    with pytest.raises(IpvsInputError) as info:
        desired_table([services[0], dict(services[1], destinations=dests[:2] + [dict(dests[2], weight=-1)])])
    assert str(info.value) == 'services[1].destinations[2].weight: -1 is outside 0..65535'
    with pytest.raises(IpvsInputError) as info:
        desired_table([services[0], dict(services[1], destinations=dests[:3] + [dict(dests[3], color='red')])])
    assert str(info.value).startswith('services[1].destinations[3].color: unknown option; valid: address, port')
