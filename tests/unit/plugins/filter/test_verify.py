# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""distribution_report: answers per real server vs the share the weights promise."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.verify import FilterModule, distribution_report


def rs(host, weight, address=None):
    return {'address': address or '192.0.2.%d' % (10 + int(host[-1])), 'port': 80, 'weight': weight,
            'upper_threshold': 0, 'lower_threshold': 0, 'host': host}


def service(scheduler='wrr', servers=None, persistence=None, name='web', vip='192.0.2.100'):
    return {'name': name, 'vip': vip, 'family': 'inet', 'port': 80, 'fwmark': None, 'protocol': 'tcp',
            'scheduler': scheduler, 'scheduler_flags': [], 'forwarding': 'dr', 'persistence': persistence,
            'persistence_netmask': None, 'gateway': None,
            'real_servers': servers if servers is not None else [rs('rs1', 1), rs('rs2', 2)]}


def one(results, services, tolerance=0.1):
    reports = distribution_report(results, services, tolerance)
    assert len(reports) == 1
    return reports[0]


def test_registered_under_its_name():
    assert FilterModule().filters()['distribution_report'] is distribution_report


def test_weighted_shares_within_tolerance_pass():
    report = one({'web': {'rs1': 20, 'rs2': 40}}, [service()])
    assert report['ok'], report['problems']
    assert [(r['server'], round(r['expected_share'], 3), r['count']) for r in report['rows']] == [
        ('rs1', 0.333, 20), ('rs2', 0.667, 40)]
    assert report['total'] == 60 and report['mode'] == 'proportional'


def test_share_off_by_more_than_tolerance_fails_and_names_the_server():
    report = one({'web': {'rs1': 30, 'rs2': 30}}, [service()])
    assert not report['ok']
    assert any(p.startswith('web: rs1 answered 50.0%') for p in report['problems'])
    assert [r['ok'] for r in report['rows']] == [False, False]


def test_tolerance_is_absolute():
    # rs1 gets 40% instead of 33.3%: off by 6.7 points
    assert one({'web': {'rs1': 40, 'rs2': 60}}, [service()], tolerance=0.1)['ok']
    assert not one({'web': {'rs1': 40, 'rs2': 60}}, [service()], tolerance=0.05)['ok']


def test_missing_server_fails():
    report = one({'web': {'rs2': 60}}, [service(scheduler='rr', servers=[rs('rs1', 1), rs('rs2', 1)])])
    assert not report['ok']
    assert 'web: rs1 never answered (expected 50.0%)' in report['problems']


def test_rr_shares_equally_whatever_the_weights():
    # IPVS's rr ignores weights above 0: rs1 (1) and rs2 (2) get half each, not a third and two thirds
    servers = [rs('rs1', 1), rs('rs2', 2), rs('rs3', 0)]
    report = one({'web': {'rs1': 30, 'rs2': 30}}, [service('rr', servers)])
    assert report['ok'], report['problems']
    assert [r['expected_share'] for r in report['rows']] == [0.5, 0.5, 0.0]
    report = one({'web': {'rs1': 20, 'rs2': 40}}, [service('rr', servers)])
    assert not report['ok']
    assert any(p.startswith('web: rs1 answered 33.3%, expected 50.0%') for p in report['problems'])
    # wrr does follow them
    assert one({'web': {'rs1': 20, 'rs2': 40}}, [service('wrr', servers)])['ok']


def test_weight_zero_expects_no_answer():
    servers = [rs('rs1', 0), rs('rs2', 1)]
    assert one({'web': {'rs2': 60}}, [service(servers=servers)])['ok']
    report = one({'web': {'rs1': 1, 'rs2': 59}}, [service(servers=servers)])
    assert not report['ok']
    assert 'web: rs1 has weight 0 but answered 1 times' in report['problems']


def test_errors_and_strangers_fail():
    report = one({'web': {'rs1': 20, 'rs2': 38, 'ERROR: timed out': 2}}, [service()])
    assert not report['ok']
    assert report['unexpected'] == {'ERROR: timed out': 2}
    assert any('ERROR: timed out' in line for line in report['table'])


def test_no_answer_at_all_fails():
    report = one({'web': {}}, [service()])
    assert not report['ok']
    assert 'web: no answer at all' in report['problems']


def test_other_schedulers_only_need_every_weighted_server():
    servers = [rs('rs1', 1), rs('rs2', 5)]
    assert one({'web': {'rs1': 50, 'rs2': 10}}, [service('wlc', servers)])['ok']
    report = one({'web': {'rs2': 60}}, [service('wlc', servers)])
    assert not report['ok'] and 'web: rs1 never answered' in report['problems']
    assert report['rows'][0]['expected_share'] is None


@pytest.mark.parametrize('svc', [service('sh'), service('wrr', persistence=300)])
def test_sticky_services_only_need_declared_servers(svc):
    assert one({'web': {'rs2': 60}}, [svc])['ok']
    assert not one({'web': {'rs9': 60}}, [svc])['ok']


def test_address_only_real_server_answers_with_its_address():
    servers = [rs('rs1', 1), dict(rs('rs2', 1, '198.51.100.20'), host=None)]
    assert one({'web': {'rs1': 30, '198.51.100.20': 30}}, [service('rr', servers)])['ok']


def test_only_probed_services_are_reported_in_service_order():
    services = [service(name='a'), service(name='b'), service(name='c')]
    reports = distribution_report({'c': {'rs1': 1, 'rs2': 2}, 'a': {'rs1': 1, 'rs2': 2}}, services)
    assert [r['service'] for r in reports] == ['a', 'c']


def test_ipv6_target_is_bracketed():
    assert one({'web': {'rs1': 1, 'rs2': 2}}, [service(vip='2001:db8::1')])['target'] == '[2001:db8::1]:80'


@pytest.mark.parametrize('tolerance', ['x', -0.1, 1.5])
def test_bad_tolerance_names_the_variable(tolerance):
    with pytest.raises(AnsibleFilterError, match='verify_tolerance'):
        distribution_report({}, [service()], tolerance)


@pytest.mark.parametrize('results, services', [
    ([], [service()]),
    ({}, 'web'),
    ({}, [{'name': 'web'}]),
    ({'web': {'rs1': 'many'}}, [service()]),
])
def test_bad_input_is_rejected(results, services):
    with pytest.raises(AnsibleFilterError, match='distribution_report'):
        distribution_report(results, services)
