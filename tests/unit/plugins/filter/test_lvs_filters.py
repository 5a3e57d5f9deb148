# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lvs.cluster filters, and the example inventories run through them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager

from ansible_collections.lvs.cluster.plugins.filter.lvs import FilterModule
# Imported, not importorskip'ed: a broken import of the collection's own module must fail the run.
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_spec

ROOT = Path(__file__).resolve().parents[4]
FILTERS = FilterModule().filters()
HOSTVARS = {'web1': {'ansible_host': '192.0.2.11'}, 'web2': {'ansible_host': '192.0.2.12', 'lvs_real_server_weight': 3}}
GROUPS = {'all': ['web1', 'web2'], 'lvs_real_servers': ['web1', 'web2']}
SERVICE = {'name': 'web', 'vip': '192.0.2.100', 'port': 80, 'real_servers': [{'group': 'lvs_real_servers'}]}


def test_filter_names():
    assert sorted(FILTERS) == ['check_settings', 'ipvs_services', 'mark_rules', 'real_server_address', 'served_by', 'virtual_services']


@pytest.mark.parametrize('host, hostvars, expected', [
    ('web1', {'web1': {'lvs_real_server_address': '2001:DB8:0::11', 'ansible_host': '192.0.2.11'}}, '2001:db8::11'),
    ('web1', {'web1': {'ansible_host': '192.0.2.11'}}, '192.0.2.11'),
    # ansible_host a DNS name: the inventory name, when it is an address
    ('192.0.2.12', {'192.0.2.12': {'ansible_host': 'web2.example'}}, '192.0.2.12'),
])
def test_real_server_address_as_the_model_resolves_it(host, hostvars, expected):
    assert FILTERS['real_server_address'](host, hostvars) == expected


def test_real_server_address_fails_naming_the_host_unless_not_strict():
    with pytest.raises(AnsibleFilterError, match='web3: no IP address: set lvs_real_server_address'):
        FILTERS['real_server_address']('web3', {'web3': {'ansible_host': 'web3.example'}})
    assert FILTERS['real_server_address']('lb1', {'lb1': {'ansible_host': 'lb1.example'}}, False) == ''


DUAL = {'rs1': {'ansible_host': '192.0.2.11', 'lvs_real_server_address6': '2001:DB8::11'},
        'rs2': {'ansible_host': '192.0.2.12'},
        'v6main': {'lvs_real_server_address': '2001:db8::14', 'lvs_real_server_address6': '2001:db8:0::14'},
        'named6': {'ansible_host': 'named6.example', 'lvs_real_server_address6': '2001:db8::16'},
        'bad6': {'ansible_host': '192.0.2.17', 'lvs_real_server_address6': '192.0.2.17'},
        'bad4': {'lvs_real_server_address': '192.0.2.300', 'lvs_real_server_address6': '2001:db8::18'},
        'lb1': {'ansible_host': 'lb1.example'}}


@pytest.mark.parametrize('host, family, expected', [
    ('rs1', None, '192.0.2.11'),  # unchanged without family: IPv4 services' address
    ('rs1', 'inet', '192.0.2.11'),
    ('rs1', 'inet6', '2001:db8::11'),
    ('rs1', 'all', ['192.0.2.11', '2001:db8::11']),
    ('rs2', 'inet6', '192.0.2.12'),  # no address6: the host's address (the model then says it is not IPv6)
    ('rs2', 'all', ['192.0.2.12']),
    ('v6main', 'all', ['2001:db8::14']),  # each address once
    ('named6', 'inet6', '2001:db8::16'),
    ('named6', 'all', ['2001:db8::16']),  # address6 alone is enough
])
def test_real_server_address_by_family(host, family, expected):
    assert FILTERS['real_server_address'](host, DUAL, True, family) == expected


def test_real_server_address_by_family_fails_naming_the_host_unless_not_strict():
    address6 = 'bad6: lvs_real_server_address6: 192.0.2.17 is not an IPv6 address'
    with pytest.raises(AnsibleFilterError, match=address6):
        FILTERS['real_server_address']('bad6', DUAL, family='inet6')
    with pytest.raises(AnsibleFilterError, match=address6):
        FILTERS['real_server_address']('bad6', DUAL, family='all')
    with pytest.raises(AnsibleFilterError, match='lb1: no IP address: set lvs_real_server_address'):
        FILTERS['real_server_address']('lb1', DUAL, family='all')
    assert FILTERS['real_server_address']('bad6', DUAL) == '192.0.2.17'  # IPv4 services never read it
    assert FILTERS['real_server_address']('bad6', DUAL, False, 'inet6') == ''
    assert FILTERS['real_server_address']('bad6', DUAL, False, 'all') == ['192.0.2.17']
    assert FILTERS['real_server_address']('lb1', DUAL, False, 'all') == []
    # a valid address6 does not hide a bad lvs_real_server_address the user set
    with pytest.raises(AnsibleFilterError, match='bad4: lvs_real_server_address: must be a unicast'):
        FILTERS['real_server_address']('bad4', DUAL, family='all')
    assert FILTERS['real_server_address']('bad4', DUAL, False, 'all') == ['2001:db8::18']


@pytest.mark.parametrize('family', ['inet4', 'INET6', 'inet6\n', 6, ['inet6'], {'inet6': 1}])
def test_real_server_address_rejects_an_unknown_family(family):
    with pytest.raises(AnsibleFilterError, match='real_server_address: family must be one of inet, inet6, all, got '):
        FILTERS['real_server_address']('rs1', DUAL, True, family)


def test_served_by_and_real_server_address_agree_for_a_dual_stack_host():
    """Every address a director's table holds for a host (decommission.yml's check) is one the filter gives."""
    services = FILTERS['virtual_services']([SERVICE, dict(SERVICE, name='web6', vip='2001:db8::100'),
                                            dict(SERVICE, name='x6', vip='2001:db8::101',
                                                 real_servers=[{'address': '2001:db8::11'}])],
                                           DUAL, {'all': list(DUAL), 'lvs_real_servers': ['rs1']})
    served = FILTERS['served_by'](services, 'rs1')
    assert [(s['name'], s['real_server']['address']) for s in served] == [
        ('web', '192.0.2.11'), ('web6', '2001:db8::11'), ('x6', '2001:db8::11')]
    in_tables = {d['address'] for v in FILTERS['ipvs_services'](services) for d in v['destinations']}
    assert in_tables == set(FILTERS['real_server_address']('rs1', DUAL, family='all'))


def test_chain_of_filters():
    services = FILTERS['virtual_services']([SERVICE], HOSTVARS, GROUPS)
    assert [r['weight'] for r in FILTERS['served_by'](services, 'web2')[0]['real_servers']] == [1, 3]
    assert FILTERS['served_by'](services, 'web2')[0]['real_server']['host'] == 'web2'
    (virtual,) = FILTERS['ipvs_services'](services)
    assert [(d['address'], d['weight']) for d in virtual['destinations']] == [('192.0.2.11', 1), ('192.0.2.12', 3)]


def test_errors_become_one_filter_error_with_a_line_each():
    bad = [dict(SERVICE, real_servers=[{'group': 'lvs_real_servers', 'weight': -1}]), dict(SERVICE, name='web2', scheduler='fastest')]
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS['virtual_services'](bad, HOSTVARS, GROUPS)
    lines = str(info.value).split('\n')
    assert lines[0] == 'invalid LVS cluster data model:'
    assert lines[1] == 'lvs_virtual_services[0] (web).real_servers[0].weight: -1 is outside 0..65535'
    assert lines[2].startswith("lvs_virtual_services[1] (web2).scheduler: unknown scheduler 'fastest'")
    assert lines[3] == ('lvs_virtual_services[1] (web2): virtual service 192.0.2.100:80/tcp is already used by '
                        'lvs_virtual_services[0] (web)')
    assert len(lines) == 4


# -- role settings, alone or with the services ----------------------------------------------------

GOOD_SETTINGS = [
    {'name': 'director_vip_interface', 'value': '', 'kind': 'interface_or_empty'},
    {'name': 'director_drain_timeout', 'value': '30', 'kind': 'int', 'min': 0, 'max': 86400},
    {'name': 'lvs_director_ha', 'value': 'none', 'kind': 'choice', 'choices': ['none', 'keepalived']},
]
BAD_SETTINGS = [
    {'name': 'director_vip_interface', 'value': 'eth0\n', 'kind': 'interface_or_empty'},
    {'name': 'director_drain_timeout', 'value': '\u00b2', 'kind': 'int', 'min': 0, 'max': 86400},
]


def test_settings_are_checked_with_the_services():
    assert FILTERS['virtual_services']([SERVICE], HOSTVARS, GROUPS, settings=GOOD_SETTINGS)[0]['name'] == 'web'
    assert FILTERS['check_settings'](GOOD_SETTINGS) is True


def test_settings_problems_are_reported_with_the_model_problems():
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS['virtual_services']([dict(SERVICE, port='80')], HOSTVARS, GROUPS, settings=BAD_SETTINGS)
    assert str(info.value).split('\n') == [
        'invalid LVS cluster data model and role settings:',
        "lvs_virtual_services[0] (web).port: must be an integer 1..65535, got str '80'",
        "director_vip_interface: must be an interface name (1 to 15 of A-Z a-z 0-9 _ . @ : -) or empty, "
        "got str 'eth0\\n'",
        "director_drain_timeout: must be an integer 0..86400, got str '\u00b2'",
    ]


def test_settings_problems_alone_fail_the_services_filter():
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS['virtual_services']([SERVICE], HOSTVARS, GROUPS, settings=BAD_SETTINGS[:1])
    lines = str(info.value).splitlines()
    assert lines[0] == 'invalid role settings:'
    assert lines[1].startswith('director_vip_interface: must be an interface name')


def test_check_settings_filter_fails_with_a_line_per_problem():
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS['check_settings'](BAD_SETTINGS + [{'name': 'web_ports', 'value': [80, 70000], 'kind': 'port_list'}])
    lines = str(info.value).split('\n')
    assert lines[0] == 'invalid role settings:'
    assert [line.split(':')[0] for line in lines[1:]] == ['director_vip_interface', 'director_drain_timeout',
                                                          'web_ports[1]']


@pytest.mark.parametrize('name', ['served_by', 'ipvs_services'])
def test_other_filters_reject_unnormalised_input(name):
    args = ('web1',) if name == 'served_by' else ()
    with pytest.raises(AnsibleFilterError, match='expects the output of lvs.cluster.virtual_services'):
        FILTERS[name]('not a list', *args)


# -- example inventories --------------------------------------------------------------------------

def load_inventory(name):
    """Groups and per-host vars (group_vars included) as Ansible computes them, without any connection."""
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(ROOT / 'inventory' / name)])
    variables = VariableManager(loader=loader, inventory=inventory)
    hostvars = {host.name: variables.get_vars(host=host, include_hostvars=False) for host in inventory.get_hosts()}
    return hostvars, inventory.get_groups_dict()


EXPECTED = {
    'dr': {
        'vip': '192.0.2.100', 'port': 80, 'scheduler': 'wrr', 'forwarding': 'dr', 'gateway': None,
        'real_servers': [('web1', '192.0.2.11', 80, 1), ('web2', '192.0.2.12', 80, 2)],
        'clients': ['client1'], 'directors': ['director1'],
    },
    'nat': {
        'vip': '203.0.113.100', 'port': 80, 'scheduler': 'rr', 'forwarding': 'nat', 'gateway': '198.51.100.1',
        'real_servers': [('web1', '198.51.100.11', 8080, 1), ('web2', '198.51.100.12', 8080, 1)],
        'clients': ['client1'], 'directors': ['director1'],
    },
}


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_example_inventory_validates(name):
    hostvars, groups = load_inventory(name)
    expected = EXPECTED[name]
    assert groups['lvs_directors'] == expected['directors']
    assert groups['lvs_clients'] == expected['clients']
    (svc,) = FILTERS['virtual_services'](hostvars['director1']['lvs_virtual_services'], hostvars, groups)
    assert (svc['name'], svc['vip'], svc['port'], svc['protocol']) == ('web', expected['vip'], expected['port'], 'tcp')
    assert (svc['scheduler'], svc['forwarding'], svc['gateway']) == (
        expected['scheduler'], expected['forwarding'], expected['gateway'])
    assert [(r['host'], r['address'], r['port'], r['weight']) for r in svc['real_servers']] == expected['real_servers']


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_example_inventory_through_ansible(name, tmp_path):
    """The real thing: Ansible's own HostVars object and templating, via an ad-hoc run on localhost."""
    out = tmp_path / 'services.json'
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / 'build' / 'collections'),
               ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'), ANSIBLE_LOCALHOST_WARNING='false',
               PATH='%s%s%s' % (bin_dir, os.pathsep, os.environ.get('PATH', '')))
    expr = ('{{ lvs_virtual_services | lvs.cluster.virtual_services(hostvars, groups)'
            ' | lvs.cluster.ipvs_services | to_json }}')
    result = subprocess.run(
        [str(bin_dir / 'ansible'), 'localhost', '-i', str(ROOT / 'inventory' / name), '-c', 'local',
         '-e', 'ansible_python_interpreter=%s' % sys.executable,
         '-m', 'ansible.builtin.copy', '-a', json.dumps({'content': expr, 'dest': str(out)})],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    (virtual,) = json.loads(out.read_text())
    expected = EXPECTED[name]
    assert (virtual['address'], virtual['port'], virtual['scheduler']) == (
        expected['vip'], expected['port'], expected['scheduler'])
    assert [(d['address'], d['port'], d['weight'], d['forwarding']) for d in virtual['destinations']] == [
        (address, port, weight, expected['forwarding']) for dummy, address, port, weight in expected['real_servers']]


def test_ipvs_services_output_is_accepted_by_the_ipvs_module():
    """Contract with plugins/module_utils/ipvs_spec.py: what the filter emits, the module takes as is."""
    hostvars = dict(HOSTVARS, v6={'lvs_real_server_address': '2001:db8::a'})
    groups = dict(GROUPS, v6=['v6'])
    services = FILTERS['virtual_services']([
        dict(SERVICE, scheduler='sh', scheduler_flags=['sh-port'], persistence=300,
             persistence_netmask='255.255.255.0', real_servers=[{'group': 'lvs_real_servers', 'upper_threshold': 10}]),
        dict(SERVICE, name='nat', vip='192.0.2.101', forwarding='nat', gateway='192.0.2.1',
             real_servers=[{'group': 'lvs_real_servers', 'port': 8080}]),
        {'name': 'marked', 'fwmark': 5, 'persistence': 60, 'persistence_netmask': 64, 'real_servers': [{'group': 'v6'}]},
    ], hostvars, groups)
    table = ipvs_spec.desired_table(FILTERS['ipvs_services'](services))[0]
    assert sorted(table) == ['-f 5 -6', '-t 192.0.2.100:80', '-t 192.0.2.101:80']
    assert [(d['port'], d['weight'], d['forwarding']) for d in table['-t 192.0.2.101:80']['destinations'].values()] == [
        (8080, 1, 'nat'), (8080, 3, 'nat')]
    assert table['-f 5 -6']['persistence_netmask'] == '64'


def test_mark_rules_refuses_what_is_not_normalised():
    with pytest.raises(AnsibleFilterError, match='mark_rules expects the output of lvs.cluster.virtual_services'):
        FILTERS['mark_rules']([{'fwmark': 7}])
