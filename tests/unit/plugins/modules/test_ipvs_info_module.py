# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs.cluster.ipvs_info against FakeIpvsadm (which prints ipvsadm 1.31 listings)."""

from __future__ import annotations

import ipaddress

from ansible_collections.lvs.cluster.plugins.modules import ipvs_info


def test_info_reports_table_counters_and_rates(run_module, kernel):
    kernel.load('\n'.join([
        '-A -t 192.0.2.100:80 -s wrr -p 300 -M 255.255.0.0',
        '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 2 -x 30 -y 20',
        '-A -u [2001:db8::53]:53 -s sh -b sh-port',
        '-a -u [2001:db8::53]:53 -r [2001:db8::11]:5353 -m -w 1',
    ]))
    svc = ('TCP', ipaddress.ip_address('192.0.2.100'), 80)
    dest = (ipaddress.ip_address('198.51.100.11'), 80)
    kernel.stats[svc] = ((40, 300, 0, 19000, 0), (3, 20, 0, 1200, 0))
    kernel.stats[(svc, dest)] = ((40, 300, 0, 19000, 0), (3, 20, 0, 1200, 0))
    kernel.conns[(svc, dest)] = (6, 14)

    res = run_module(ipvs_info.main, {}, check_mode=True)
    assert res['changed'] is False
    web, dns = res['services']
    assert (web['address'], web['scheduler'], web['persistence'], web['persistence_netmask']) == \
        ('192.0.2.100', 'wrr', 300, '255.255.0.0')
    assert web['stats']['connections'] == 40 and web['stats']['inbps'] == 1200
    (rs,) = web['destinations']
    assert (rs['weight'], rs['upper_threshold'], rs['lower_threshold']) == (2, 30, 20)
    assert (rs['active_connections'], rs['inactive_connections']) == (6, 14)
    assert rs['stats']['bytes_in'] == 19000 and rs['stats']['cps'] == 3
    assert (dns['protocol'], dns['family'], dns['scheduler_flags']) == ('udp', 'inet6', ['sh-port'])
    assert dns['destinations'][0]['port'] == 5353 and dns['destinations'][0]['forwarding'] == 'nat'
    assert kernel.restore_calls() == []
    assert ['/usr/sbin/ipvsadm', '-L', '-n', '--exact', '--stats'] in kernel.calls


def test_info_without_ipvs_fails_clearly(run_module, kernel):
    kernel.available = False
    res = run_module(ipvs_info.main, {}, expect_fail=True)
    assert 'IPVS is not available' in res['msg']


def test_info_check_mode_without_ipvsadm_returns_an_empty_table(run_module, kernel):
    res = run_module(ipvs_info.main, {}, check_mode=True, ipvsadm_path=None)
    assert (res['changed'], res['services'], res['rules']) == (False, [], '')
    assert [w for w in res['warnings'] if 'ipvsadm is not installed yet' in w], res['warnings']
    assert kernel.calls == []


def test_info_check_mode_does_not_load_ip_vs(run_module, kernel):
    res = run_module(ipvs_info.main, {}, check_mode=True, ip_vs_loaded=False)
    assert (res['changed'], res['services'], res['rules']) == (False, [], '')
    assert [w for w in res['warnings'] if 'ip_vs kernel module is not loaded' in w], res['warnings']
    assert kernel.calls == []


def test_info_without_ipvsadm_fails_outside_check_mode(run_module, kernel):
    res = run_module(ipvs_info.main, {}, expect_fail=True, ipvsadm_path=None)
    assert res['msg'] == 'ipvsadm was not found on the host; install the ipvsadm package'
    assert kernel.calls == []


def test_info_reads_the_thresholds_listing_once_for_thresholds_and_connections(run_module, kernel, monkeypatch):
    from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_info as info_utils
    kernel.load('-A -t 192.0.2.100:80 -s rr\n-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 1 -x 9')
    kernel.conns[(('TCP', ipaddress.ip_address('192.0.2.100'), 80), (ipaddress.ip_address('198.51.100.11'), 80))] = (3, 4)
    parsed = []
    real = info_utils.parse_thresholds
    monkeypatch.setattr(info_utils, 'parse_thresholds', lambda *a: parsed.append(a) or real(*a))
    res = run_module(ipvs_info.main, {})
    (rs,) = res['services'][0]['destinations']
    assert (rs['upper_threshold'], rs['active_connections'], rs['inactive_connections']) == (9, 3, 4)
    assert len(parsed) == 1
    assert [c[1:] for c in kernel.calls].count(['-L', '-n', '--thresholds']) == 1
