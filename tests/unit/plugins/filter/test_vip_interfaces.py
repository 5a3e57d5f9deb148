# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.vip_interfaces import vip_interfaces

# A NAT director: outside eth1 (203.0.113.0/24), inside eth0 (198.51.100.0/24), no default route.
NAT_FACTS = {
    'interfaces': ['lo', 'eth0', 'eth1'],
    'lo': {'ipv4': {'address': '127.0.0.1', 'netmask': '255.0.0.0'}},
    'eth0': {'ipv4': {'address': '198.51.100.1', 'netmask': '255.255.255.0'}},
    'eth1': {'ipv4': {'address': '203.0.113.10', 'netmask': '255.255.255.0'},
             'ipv4_secondaries': [{'address': '203.0.113.100', 'netmask': '255.255.255.255'}],
             'ipv6': [{'address': '2001:db8::10', 'prefix': '64'}]},
    'default_ipv4': {},
}


def test_vip_goes_to_the_interface_of_its_subnet():
    assert vip_interfaces(['203.0.113.100', '198.51.100.50'], NAT_FACTS) == {
        '203.0.113.100': 'eth1', '198.51.100.50': 'eth0'}


def test_ipv6_vip_matches_ipv6_subnet():
    assert vip_interfaces(['2001:db8::100'], NAT_FACTS) == {'2001:db8::100': 'eth1'}


def test_explicit_interface_wins():
    assert vip_interfaces(['203.0.113.100'], NAT_FACTS, 'eth0') == {'203.0.113.100': 'eth0'}


def test_vip_outside_every_subnet_uses_the_default_route_interface():
    facts = dict(NAT_FACTS, default_ipv4={'interface': 'eth0'})
    assert vip_interfaces(['192.0.2.100'], facts) == {'192.0.2.100': 'eth0'}


def test_no_subnet_no_default_route_names_the_variable():
    with pytest.raises(AnsibleFilterError, match='director_vip_interface'):
        vip_interfaces(['192.0.2.100'], NAT_FACTS)


def test_interface_names_with_dashes_use_fact_keys():
    facts = {'interfaces': ['br-lan'], 'br_lan': {'ipv4': {'address': '192.0.2.1', 'netmask': '255.255.255.0'}}}
    assert vip_interfaces(['192.0.2.100'], facts) == {'192.0.2.100': 'br-lan'}
