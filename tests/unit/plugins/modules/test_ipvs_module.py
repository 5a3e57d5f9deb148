# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs.cluster.ipvs end to end against FakeIpvsadm: diff, one -R batch, idempotency, check/diff mode."""

from __future__ import annotations

import copy
import ipaddress
import os
import stat
import threading

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_host import Ipvsadm
from ansible_collections.lvs.cluster.plugins.modules import ipvs as ipvs_module

VIP = '192.0.2.100'


def web(**over):
    svc = {'address': VIP, 'port': 80, 'scheduler': 'wrr',
           'destinations': [{'address': '198.51.100.11', 'weight': 1},
                            {'address': '198.51.100.12', 'weight': 2}]}
    svc.update(over)
    return svc


def apply(run_module, services, **opts):
    return run_module(ipvs_module.main, dict(opts, services=services))


def test_add_from_empty_uses_one_restore_and_builds_table(run_module, kernel):
    res = apply(run_module, [web()])
    assert res['changed'] is True
    assert res['commands'] == [
        '-A -t 192.0.2.100:80 -s wrr',
        '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 1',
        '-a -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 2',
    ]
    assert len(kernel.restore_calls()) == 1
    assert kernel.save() == ('-A -t 192.0.2.100:80 -s wrr\n'
                             '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 1\n'
                             '-a -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 2\n')
    assert res['rules'] == kernel.save()


# Each case: (initial services, changed services, expected commands). After applying the change the
# same input must give changed=false and no command (idempotency for every kind of change).
CHANGES = {
    'scheduler edit in place': (
        [web()], [web(scheduler='lc')],
        ['-E -t 192.0.2.100:80 -s lc']),
    'persistence on with netmask': (
        [web()], [web(persistence=300, persistence_netmask='255.255.255.0')],
        ['-E -t 192.0.2.100:80 -s wrr -p 300 -M 255.255.255.0']),
    'persistence off': (
        [web(persistence=600)], [web(persistence=None)],
        ['-E -t 192.0.2.100:80 -s wrr']),
    'scheduler flags': (
        [web()], [web(scheduler='sh', scheduler_flags=['sh-port', 'sh-fallback'])],
        ['-E -t 192.0.2.100:80 -s sh -b sh-fallback,sh-port']),
    'weight edit in place': (
        [web()], [web(destinations=[{'address': '198.51.100.11', 'weight': 5},
                                    {'address': '198.51.100.12', 'weight': 2}])],
        ['-e -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 5']),
    'forwarding edit in place': (
        [web()], [web(destinations=[{'address': '198.51.100.11', 'forwarding': 'tun'},
                                    {'address': '198.51.100.12', 'weight': 2}])],
        ['-e -t 192.0.2.100:80 -r 198.51.100.11:80 -i -w 1']),
    'thresholds edit in place': (
        [web()], [web(destinations=[{'address': '198.51.100.11', 'upper_threshold': 100, 'lower_threshold': 50},
                                    {'address': '198.51.100.12', 'weight': 2}])],
        ['-e -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 1 -x 100 -y 50']),
    'nat port change is delete then add': (
        [web(destinations=[{'address': '198.51.100.11', 'forwarding': 'nat', 'port': 8080}])],
        [web(destinations=[{'address': '198.51.100.11', 'forwarding': 'nat', 'port': 8081}])],
        ['-d -t 192.0.2.100:80 -r 198.51.100.11:8080',
         '-a -t 192.0.2.100:80 -r 198.51.100.11:8081 -m -w 1']),
    'remove and add real servers': (
        [web()], [web(destinations=[{'address': '198.51.100.12', 'weight': 2},
                                    {'address': '198.51.100.13'}])],
        ['-d -t 192.0.2.100:80 -r 198.51.100.11:80',
         '-a -t 192.0.2.100:80 -r 198.51.100.13:80 -g -w 1']),
    'state absent': (
        [web(), web(port=443)], [web(port=443, state='absent')],
        ['-D -t 192.0.2.100:443']),
    'ipv6 service added': (
        [web()], [web(), {'protocol': 'udp', 'address': '2001:DB8:0::53', 'port': 53,
                          'destinations': [{'address': '2001:db8::11', 'forwarding': 'nat', 'port': 5353}]}],
        ['-A -u [2001:db8::53]:53 -s wlc',
         '-a -u [2001:db8::53]:53 -r [2001:db8::11]:5353 -m -w 1']),
    'fwmark ipv6 persistence': (
        [web()], [web(), {'fwmark': 7, 'family': 'inet6', 'scheduler': 'rr', 'persistence': 60,
                          'persistence_netmask': 64, 'destinations': [{'address': '2001:db8::11'}]}],
        ['-A -f 7 -6 -s rr -p 60 -M 64',
         '-a -f 7 -6 -r [2001:db8::11]:0 -g -w 1']),
    'sctp service': (
        [], [{'protocol': 'sctp', 'address': '192.0.2.7', 'port': 9, 'destinations': [{'address': '198.51.100.7'}]}],
        ['-A --sctp-service 192.0.2.7:9 -s wlc',
         '-a --sctp-service 192.0.2.7:9 -r 198.51.100.7:9 -g -w 1']),
}


@pytest.mark.parametrize('name', sorted(CHANGES))
def test_each_change_then_idempotent(run_module, kernel, name):
    initial, changed, expected = CHANGES[name]
    if initial:
        apply(run_module, initial)
    calls_before = len(kernel.restore_calls())
    res = apply(run_module, changed)
    assert res['commands'] == expected
    assert res['changed'] is True
    assert len(kernel.restore_calls()) == calls_before + 1
    again = apply(run_module, copy.deepcopy(changed))
    assert again['changed'] is False
    assert again['commands'] == []
    assert len(kernel.restore_calls()) == calls_before + 1


def test_live_connections_survive_in_place_edit(run_module, kernel):
    """-E/-e keep the kernel objects; a delete+add would have dropped the connection counters."""
    apply(run_module, [web()])
    kernel.conns[(('TCP',) + _key(VIP, 80), _key('198.51.100.11', 80))] = [7, 3]
    res = apply(run_module, [web(scheduler='rr', destinations=[{'address': '198.51.100.11', 'weight': 9},
                                                               {'address': '198.51.100.12', 'weight': 2}])])
    assert not any(c.startswith(('-d', '-D')) for c in res['commands'])
    assert kernel.save().count('-r 198.51.100.11:80 -g -w 9') == 1


def test_purge_off_keeps_unlisted_services_purge_on_deletes_them(run_module, kernel):
    kernel.load('-A -t 203.0.113.9:25 -s rr\n-a -t 203.0.113.9:25 -r 198.51.100.40:25 -m -w 1')
    res = apply(run_module, [web()])
    assert not any(c.startswith('-D') for c in res['commands'])
    assert '203.0.113.9:25' in kernel.save()
    res = apply(run_module, [web()], purge=True)
    assert res['commands'] == ['-D -t 203.0.113.9:25']
    assert '203.0.113.9:25' not in kernel.save()
    assert apply(run_module, [web()], purge=True)['changed'] is False


def test_order_deletes_then_services_then_destination_adds(run_module, kernel):
    apply(run_module, [web(), web(port=443)])
    res = apply(run_module, [web(scheduler='rr', destinations=[{'address': '198.51.100.12', 'weight': 3}]),
                             web(port=8080)], purge=True)
    assert res['commands'] == [
        '-d -t 192.0.2.100:80 -r 198.51.100.11:80',
        '-D -t 192.0.2.100:443',
        '-E -t 192.0.2.100:80 -s rr',
        '-A -t 192.0.2.100:8080 -s wrr',
        '-e -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 3',
        '-a -t 192.0.2.100:8080 -r 198.51.100.11:8080 -g -w 1',
        '-a -t 192.0.2.100:8080 -r 198.51.100.12:8080 -g -w 2',
    ]
    assert len(kernel.batches[-1]) == 7


def test_canonical_input_forms_are_idempotent(run_module, kernel):
    """Defaults, IPv6 spelling, default netmask, flag order and aliases all compare equal."""
    kernel.load('\n'.join([
        '-A -t [2001:db8::1]:80 -s sh -p 300 -b sh-fallback,sh-port',
        '-a -t [2001:db8::1]:80 -r [2001:db8::a]:80 -g -w 1',
        '-A -t 192.0.2.1:80 -s wlc -p 30',
        '-a -t 192.0.2.1:80 -r 198.51.100.1:80 -i -w 1',
    ]))
    res = apply(run_module, [
        {'address': '2001:0db8:0000::0001', 'port': '80', 'scheduler': 'SH', 'persistence': 300,
         'persistence_netmask': 128, 'scheduler_flags': ['flag-2', 'sh-fallback', 'sh-port'],
         'destinations': [{'address': '2001:db8:0::A'}]},
        {'address': '192.0.2.1', 'port': 80, 'persistence': 30, 'persistence_netmask': '255.255.255.255',
         'destinations': [{'address': '198.51.100.1', 'forwarding': 'tun', 'port': 80, 'weight': '1'}]},
    ])
    assert res['commands'] == []
    assert res['changed'] is False


def test_thresholds_are_read_from_listing_not_save(run_module, kernel):
    svc = web(destinations=[{'address': '198.51.100.11', 'upper_threshold': 10}])
    apply(run_module, [svc])
    assert '-x' not in kernel.save()  # ipvsadm -S omits thresholds ...
    res = apply(run_module, [svc])
    assert res['commands'] == []      # ... so only the --thresholds listing makes this idempotent
    assert '-x 10' in res['rules']


def test_check_mode_reports_without_restore(run_module, kernel):
    res = run_module(ipvs_module.main, {'services': [web()]}, check_mode=True)
    assert res['changed'] is True
    assert len(res['commands']) == 3
    assert kernel.restore_calls() == []
    assert kernel.save() == ''
    assert '-A -t 192.0.2.100:80 -s wrr' in res['rules']


def test_diff_mode_before_and_after(run_module, kernel):
    apply(run_module, [web()])
    res = run_module(ipvs_module.main, {'services': [web(scheduler='lc')]}, diff=True)
    assert res['diff']['before'].startswith('-A -t 192.0.2.100:80 -s wrr\n')
    assert res['diff']['after'].startswith('-A -t 192.0.2.100:80 -s lc\n')
    assert res['diff']['after'] == kernel.save()


def test_save_path_written_only_when_different(run_module, kernel, tmp_path):
    path = tmp_path / 'ipvsadm.rules'
    res = apply(run_module, [web()], save_path=str(path))
    assert res['saved'] is True
    assert path.read_text() == kernel.save()
    mtime = path.stat().st_mtime_ns
    res = apply(run_module, [web()], save_path=str(path))
    assert res['saved'] is False and res['changed'] is False
    assert path.stat().st_mtime_ns == mtime
    path.write_text('stale\n')
    res = apply(run_module, [web()], save_path=str(path))
    assert res['saved'] is True and res['changed'] is True and res['commands'] == []
    assert path.read_text() == kernel.save()


def test_save_path_check_mode_does_not_write(run_module, kernel, tmp_path):
    path = tmp_path / 'rules'
    res = run_module(ipvs_module.main, {'services': [web()], 'save_path': str(path)}, check_mode=True)
    assert res['saved'] is True
    assert not path.exists()


# ---------------------------------------------------------------- save_mode

def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


@pytest.fixture
def umask():
    """Sets the umask for the test (022 to begin with); returns a setter."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def test_save_mode_default_is_0600_whatever_the_umask_also_when_replacing(run_module, kernel, tmp_path, umask):
    path = tmp_path / 'ipvsadm.rules'
    res = apply(run_module, [web()], save_path=str(path))
    assert res['saved'] is True and mode_of(path) == 0o600
    umask(0)
    path.write_text('stale\n')
    path.chmod(0o666)
    res = apply(run_module, [web()], save_path=str(path))
    assert res['saved'] is True and res['changed'] is True
    assert mode_of(path) == 0o600 and path.read_text() == kernel.save()  # the explicit mode, not the old one
    assert [p.name for p in tmp_path.iterdir()] == ['ipvsadm.rules']  # no temporary file left


@pytest.mark.parametrize('mode, want', [
    ('0640', 0o640), ('640', 0o640), ('0o640', 0o640), (0o640, 0o640), ('u=rw,g=r,o=', 0o640), ('0644', 0o644),
    (None, 0o600),
])
def test_save_mode_forms(run_module, kernel, tmp_path, umask, mode, want):
    umask(0o077)  # does not narrow the mode asked for
    path = tmp_path / 'rules'
    res = apply(run_module, [web()], save_path=str(path), save_mode=mode)
    assert res['saved'] is True and mode_of(path) == want
    again = apply(run_module, [web()], save_path=str(path), save_mode=mode)
    assert again['changed'] is False and again['saved'] is False


def test_save_mode_is_set_before_the_first_byte_is_written(run_module, kernel, tmp_path, umask, monkeypatch):
    umask(0)
    path = tmp_path / 'rules'
    seen = []
    real_fdopen = os.fdopen

    class Spy(object):
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            self.f.__enter__()
            return self

        def __exit__(self, *exc):
            return self.f.__exit__(*exc)

        def write(self, data):
            st = os.fstat(self.f.fileno())
            seen.append((stat.S_IMODE(st.st_mode), st.st_size, path.exists()))
            return self.f.write(data)

    monkeypatch.setattr(os, 'fdopen', lambda fd, *a, **kw: Spy(real_fdopen(fd, *a, **kw)))
    apply(run_module, [web()], save_path=str(path), save_mode='0640')
    assert seen == [(0o640, 0, False)]  # the first write, to an empty file that has its mode already
    assert mode_of(path) == 0o640 and path.read_text() == kernel.save()


def test_right_content_with_another_mode_is_a_change(run_module, kernel, tmp_path):
    path = tmp_path / 'rules'
    apply(run_module, [web()], save_path=str(path))
    path.chmod(0o644)
    inode = path.stat().st_ino
    res = run_module(ipvs_module.main, {'services': [web()], 'save_path': str(path)}, check_mode=True)
    assert res['changed'] is True and res['saved'] is True and res['commands'] == []
    assert mode_of(path) == 0o644  # check mode changes nothing
    res = apply(run_module, [web()], save_path=str(path))
    assert res['changed'] is True and res['saved'] is True and res['commands'] == []
    assert mode_of(path) == 0o600 and path.stat().st_ino == inode  # chmod, not rewritten
    res = apply(run_module, [web()], save_path=str(path))
    assert res['changed'] is False and res['saved'] is False


@pytest.mark.parametrize('exists', [True, False])
def test_selinux_context_is_kept_like_atomic_move_keeps_it(run_module, kernel, tmp_path, monkeypatch, exists):
    from ansible.module_utils import basic
    path = tmp_path / 'rules'
    if exists:
        path.write_text('stale\n')
    calls = []
    monkeypatch.setattr(basic.AnsibleModule, 'selinux_enabled', lambda self: True)
    monkeypatch.setattr(basic.AnsibleModule, 'selinux_context', lambda self, p: ['system_u', 'object_r', 'old_t', 's0'])
    monkeypatch.setattr(basic.AnsibleModule, 'selinux_default_context', lambda self, p, mode=0: ['u', 'r', 'default_t', 's0'])
    monkeypatch.setattr(basic.AnsibleModule, 'set_context_if_different',
                        lambda self, p, context, changed, diff=None: calls.append((p, context)) or changed)
    res = apply(run_module, [web()], save_path=str(path))
    assert res['saved'] is True and path.read_text() == kernel.save()
    assert calls == [(str(path), ['system_u', 'object_r', 'old_t', 's0'] if exists else ['u', 'r', 'default_t', 's0'])]


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give the file another owner')
def test_replacing_keeps_owner_and_group(run_module, kernel, tmp_path):
    path = tmp_path / 'rules'
    path.write_text('stale\n')
    os.chown(str(path), 4321, 4322)
    res = apply(run_module, [web()], save_path=str(path))
    assert res['saved'] is True
    st = path.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4321, 4322, 0o600)


@pytest.mark.parametrize('mode', ['bogus', '0999', '017777', 'u=rwz', '', True, -1, 0o17777, 6.0])
def test_bad_save_mode_fails_before_anything_runs(run_module, kernel, tmp_path, mode):
    res = run_module(ipvs_module.main, {'services': [web()], 'save_path': str(tmp_path / 'rules'),
                                        'save_mode': mode}, expect_fail=True)
    assert res['msg'].startswith('save_mode: ') and res['field'] == 'save_mode'
    assert kernel.calls == []


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += seconds

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_host
    c = Clock()
    monkeypatch.setattr(ipvs_host.time, 'sleep', c.sleep)
    monkeypatch.setattr(ipvs_host.time, 'monotonic', c)
    return c


def _key(addr, port):
    return (ipaddress.ip_address(addr), port)


def test_drain_sets_weight_zero_waits_then_deletes(run_module, kernel, clock, monkeypatch):
    apply(run_module, [web(), web(port=443)])
    svc80 = ('TCP',) + _key(VIP, 80)
    kernel.conns[(svc80, _key('198.51.100.11', 80))] = [2, 0]
    polls = []
    real_listing = kernel.listing

    def listing(opts):
        polls.append(clock.now)
        if clock.now >= 3:  # the connections finish after 3 s
            kernel.conns[(svc80, _key('198.51.100.11', 80))] = [0, 4]
        return real_listing(opts)
    monkeypatch.setattr(kernel, 'listing', listing)

    res = apply(run_module, [web(destinations=[{'address': '198.51.100.12', 'weight': 2}])],
                purge=True, drain_timeout=30)
    assert kernel.batches[-2] == [
        '-e -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 0',
        '-e -t 192.0.2.100:443 -r 198.51.100.11:443 -g -w 0',
        '-e -t 192.0.2.100:443 -r 198.51.100.12:443 -g -w 0',
    ]
    assert kernel.batches[-1] == ['-d -t 192.0.2.100:80 -r 198.51.100.11:80', '-D -t 192.0.2.100:443']
    assert res['commands'] == kernel.batches[-2] + kernel.batches[-1]
    assert 3 <= clock.now < 5
    assert res['drained']['still_active'] == []
    assert apply(run_module, [web(destinations=[{'address': '198.51.100.12', 'weight': 2}])],
                 purge=True, drain_timeout=30)['changed'] is False


def test_drain_gives_up_after_timeout(run_module, kernel, clock):
    apply(run_module, [web()])
    kernel.conns[(('TCP',) + _key(VIP, 80), _key('198.51.100.11', 80))] = [5, 0]
    res = apply(run_module, [web(destinations=[{'address': '198.51.100.12', 'weight': 2}])], drain_timeout=10)
    assert clock.now == pytest.approx(10)
    assert res['drained']['still_active'] == ['-t 192.0.2.100:80 -r 198.51.100.11:80']
    assert '198.51.100.11' not in kernel.save()


def test_drain_check_mode_does_not_wait(run_module, kernel, clock):
    apply(run_module, [web()])
    res = run_module(ipvs_module.main, {'services': [web(destinations=[])], 'drain_timeout': 60}, check_mode=True)
    assert clock.now == 0
    assert len(res['commands']) == 4
    assert len(kernel.restore_calls()) == 1


@pytest.mark.parametrize('services, field', [
    ([web(destinations=[{'address': '198.51.100.11', 'weight': 70000}])], 'services[0].destinations[0].weight'),
    ([web(), web(port=443), web(port=8443, destinations=[{'address': 'rs1'}])], 'services[2].destinations[0].address'),
    ([web(scheduler='bogus')], 'services[0].scheduler'),
    ([web(port=0)], 'services[0].port'),
    ([{'port': 80}], 'services[0].address'),
    ([web(protocol='icmp')], 'services[0].protocol'),
    ([web(scheduler='rr', scheduler_flags=['sh-port'])], 'services[0].scheduler_flags[0]'),
    ([web(persistence_netmask='255.255.255.0')], 'services[0].persistence_netmask'),
    ([web(persistence=300, persistence_netmask='255.0.255.0')], 'services[0].persistence_netmask'),
    ([web(persistence=-1)], 'services[0].persistence'),
    ([web(destinations=[{'address': '198.51.100.11', 'port': 8080}])], 'services[0].destinations[0].port'),
    ([web(destinations=[{'address': '2001:db8::1'}])], 'services[0].destinations[0].address'),
    ([web(destinations=[{'address': '198.51.100.11', 'forwarding': 'fullnat'}])],
     'services[0].destinations[0].forwarding'),
    ([web(destinations=[{'address': '198.51.100.11'}, {'address': '198.51.100.11', 'port': 80}])],
     'services[0].destinations[1]'),
    ([web(), web()], 'services[1]'),
    ([web(wieght=1)], 'services[0].wieght'),
    ([{'fwmark': 0}], 'services[0].fwmark'),
    ([web(family='inet6')], 'services[0].family'),
])
def test_bad_input_names_field_and_runs_nothing(run_module, kernel, services, field):
    res = run_module(ipvs_module.main, {'services': services}, expect_fail=True)
    assert res['msg'].startswith(field + ':'), res['msg']
    assert kernel.calls == []


def test_missing_ipvsadm(run_module, kernel):
    res = run_module(ipvs_module.main, {'services': [web()]}, expect_fail=True, ipvsadm_path=None)
    assert res['msg'] == 'ipvsadm was not found on the host; install the ipvsadm package'
    assert kernel.calls == []


def test_check_mode_without_ipvsadm_reports_the_table_as_changes(run_module, kernel, tmp_path):
    """A fresh host in check mode: the package task before would have installed ipvsadm."""
    path = tmp_path / 'rules'
    res = run_module(ipvs_module.main, {'services': [web(), web(port=443, state='absent')], 'purge': True,
                                        'drain_timeout': 5, 'save_path': str(path)},
                     check_mode=True, diff=True, ipvsadm_path=None)
    assert res['changed'] is True
    assert res['commands'] == ['-A -t 192.0.2.100:80 -s wrr',
                               '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 1',
                               '-a -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 2']
    assert res['rules'] == '\n'.join(res['commands']) + '\n'
    assert res['diff'] == {'before': '', 'after': res['rules']}
    assert res['saved'] is True and not path.exists()
    assert [w for w in res['warnings'] if 'ipvsadm is not installed yet' in w], res['warnings']
    assert kernel.calls == []


def test_check_mode_without_ipvsadm_and_nothing_to_add(run_module, kernel):
    res = run_module(ipvs_module.main, {'services': []}, check_mode=True, ipvsadm_path=None)
    assert res['changed'] is False and res['commands'] == [] and res['rules'] == ''
    assert len(res['warnings']) == 1
    assert kernel.calls == []


def test_check_mode_does_not_load_ip_vs(run_module, kernel):
    """ipvsadm would load ip_vs with the kernel's default options, before this run's modprobe.d file exists."""
    res = run_module(ipvs_module.main, {'services': [web()]}, check_mode=True, ip_vs_loaded=False)
    assert res['changed'] is True and res['commands'][0] == '-A -t 192.0.2.100:80 -s wrr'
    assert res['warnings'] == ['the ip_vs kernel module is not loaded yet, so check mode takes the live IPVS table as '
                               'empty (ipvsadm is not run: it would load ip_vs without the options this run would write)']
    assert kernel.calls == []


def test_a_real_run_loads_ip_vs_through_ipvsadm(run_module, kernel):
    res = run_module(ipvs_module.main, {'services': [web()]}, ip_vs_loaded=False)
    assert res['changed'] is True and 'warnings' not in res
    assert ['/usr/sbin/ipvsadm', '-R'] in kernel.calls


def test_no_warning_when_ipvsadm_is_there(run_module, kernel):
    res = run_module(ipvs_module.main, {'services': [web()]}, check_mode=True)
    assert 'warnings' not in res


def test_ipvs_not_available(run_module, kernel):
    kernel.available = False
    res = run_module(ipvs_module.main, {'services': [web()]}, expect_fail=True)
    assert 'IPVS is not available' in res['msg']
    assert 'Protocol not available' in res['msg']


def test_kernel_rejecting_a_line_fails(run_module, kernel):
    """ipvsadm -R goes on after a kernel error; the module must still report failure."""
    apply(run_module, [web()])
    real = kernel.command

    def command(tokens):
        if tokens[0] == '-E':  # not the last line, so ipvsadm -R still exits 0
            return 'Memory allocation problem'
        return real(tokens)
    kernel.command = command
    res = run_module(ipvs_module.main, {'services': [web(scheduler='rr', destinations=[
        {'address': '198.51.100.11', 'weight': 4}, {'address': '198.51.100.12', 'weight': 2}])]},
        expect_fail=True)
    assert kernel.batches[-1][-1].startswith('-e ')
    assert 'Memory allocation problem' in res['msg']


def test_table_mismatch_after_apply_fails(run_module, kernel):
    """If the kernel silently ends up different (e.g. a local real server shown as -g), say so."""
    real = kernel.command

    def command(tokens):
        rc = real(tokens)
        for svc in kernel.services.values():
            for d in svc['dests'].values():
                d['fwd'] = 'Route'
        return rc
    kernel.command = command
    res = run_module(ipvs_module.main, {'services': [web(destinations=[
        {'address': '198.51.100.11', 'forwarding': 'nat'}])]}, expect_fail=True)
    assert 'differs from the desired state' in res['msg']
    assert '198.51.100.11:80' in res['msg']


def test_large_table_no_op_issues_no_command(run_module, kernel):
    services = [{'address': '192.0.2.%d' % (i % 250 + 1), 'port': 1000 + i, 'scheduler': 'wrr',
                 'destinations': [{'address': '198.51.100.%d' % (j + 1), 'weight': j} for j in range(10)]}
                for i in range(200)]
    first = apply(run_module, services)
    assert len(first['commands']) == 200 * 11
    services[57]['destinations'][3]['weight'] = 99
    res = apply(run_module, services)
    assert res['commands'] == ['-e -t 192.0.2.58:1057 -r 198.51.100.4:1057 -g -w 99']
    # the big services argument is not echoed back (it would double the result); the rest is
    assert res['invocation']['module_args']['services'] == '200 service(s), not echoed'
    assert res['invocation']['module_args']['purge'] is False


# ---------------------------------------------------------------- `services` and Ansible's own argument handling

@pytest.fixture
def validated(monkeypatch):
    """The names of the parameters Ansible's argument validation is given, call by call."""
    seen = []
    real = ModuleArgumentSpecValidator.validate

    def validate(self, parameters):
        seen.append(sorted(parameters))
        return real(self, parameters)
    monkeypatch.setattr(ModuleArgumentSpecValidator, 'validate', validate)
    return seen


def test_a_list_of_dicts_is_left_to_the_collection_s_validation(run_module, kernel, validated, monkeypatch):
    """Ansible's validation would deep-copy 11,000 rules and pass them unchanged; the log names them by number."""
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: logged.append(msg))
    res = apply(run_module, [web()], purge=True)
    assert validated == [['purge']]  # what the task set, without services
    assert res['commands'][0] == '-A -t 192.0.2.100:80 -s wrr'
    assert res['invocation']['module_args']['services'] == '1 service(s), not echoed'
    assert len(logged) == 1 and 'services=1 service(s), not logged' in logged[0] and '198.51.100.11' not in logged[0]


@pytest.mark.parametrize('services, problem', [
    (None, "argument 'services' is of type NoneType and we were unable to convert to list"),
    ({'address': VIP, 'port': 80}, "argument 'services' is of type dict and we were unable to convert to list"),
    ('x', "Elements value for option 'services' is of type str and we were unable to convert to dict"),
    ([web(), 5], "Elements value for option 'services' is of type int and we were unable to convert to dict"),
    ([None], "Elements value for option 'services' is of type NoneType and we were unable to convert to dict"),
])
def test_other_services_values_get_ansible_s_conversion_and_errors(run_module, kernel, validated, services, problem):
    res = run_module(ipvs_module.main, {'services': services}, expect_fail=True)
    assert res['msg'].startswith(problem)
    assert 'services' in validated[0]
    assert kernel.calls == []


def test_items_given_as_text_are_converted_by_ansible_as_before(run_module, kernel):
    """Ansible turns key=value or JSON text items into dicts (check_type_dict); the module takes them as such."""
    res = apply(run_module, ['address=192.0.2.100 port=80', '{"address": "192.0.2.101", "port": 81}'])
    assert res['commands'] == ['-A -t 192.0.2.100:80 -s wlc', '-A -t 192.0.2.101:81 -s wlc']


def test_a_failed_argument_check_still_sees_the_services_as_given(run_module, kernel, monkeypatch):
    """Ansible echoes the parameters (`invocation`) when it fails one: the services given, not the default []."""
    echoed = []
    fail = basic.AnsibleModule.fail_json  # the fixture's

    def fail_json(self, msg, **kw):
        echoed.append(copy.deepcopy(self.params.get('services')))
        fail(self, msg, **kw)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    res = run_module(ipvs_module.main, {'services': [web()], 'purge': 'maybe'}, expect_fail=True)
    assert res['msg'].startswith("argument 'purge' is of type str and we were unable to convert to bool")
    assert echoed == [[web()]]
    res = run_module(ipvs_module.main, {'services': [web()], 'bogus': 1}, expect_fail=True)
    assert res['msg'].startswith('Unsupported parameters for')
    assert echoed[1:] == [[web()]]
    assert kernel.calls == []


# ---------------------------------------------------------------- the cheap read (ipvs.live_table)

@pytest.fixture
def parsed_lines(monkeypatch):
    """Every line that goes through the full parser (ipvs.parse_save), in order."""
    from ansible_collections.lvs.cluster.plugins.module_utils import ipvs as ipvs_utils
    seen = []
    real = ipvs_utils.parse_save

    def parse_save(text):
        seen.extend(line for line in text.splitlines() if line.strip())
        return real(text)
    monkeypatch.setattr(ipvs_utils, 'parse_save', parse_save)
    return seen


def _listings(kernel):
    return [c[1:] for c in kernel.calls if c[1] in ('-S', '-L')]


EVERY_FORM = [
    web(persistence=300, persistence_netmask='255.255.255.0', destinations=[
        {'address': '198.51.100.11', 'weight': 3, 'upper_threshold': 100, 'lower_threshold': 40},
        {'address': '198.51.100.12', 'forwarding': 'tun', 'weight': 0},
        {'address': '198.51.100.13', 'forwarding': 'nat', 'port': 8080}]),
    {'protocol': 'udp', 'address': '2001:db8::53', 'port': 53, 'scheduler': 'sh',
     'scheduler_flags': ['sh-port', 'sh-fallback'],
     'destinations': [{'address': '2001:db8::11', 'forwarding': 'nat', 'port': 5353, 'weight': 65535}]},
    {'protocol': 'sctp', 'address': '192.0.2.7', 'port': 9, 'scheduler': 'mh', 'scheduler_flags': ['mh-port']},
    {'fwmark': 1, 'scheduler': 'rr', 'persistence': 60, 'destinations': [{'address': '198.51.100.11'}]},
    {'fwmark': 2, 'family': 'inet6', 'persistence': 120, 'persistence_netmask': 64,
     'destinations': [{'address': '2001:db8::11', 'forwarding': 'tun', 'lower_threshold': 5}]},
]


def test_noop_is_confirmed_without_parsing(run_module, kernel, parsed_lines):
    apply(run_module, copy.deepcopy(EVERY_FORM))
    del parsed_lines[:]
    calls = len(kernel.calls)
    res = apply(run_module, copy.deepcopy(EVERY_FORM))
    assert res['changed'] is False and res['commands'] == []
    assert parsed_lines == []  # every -S block was exactly what the input renders to
    assert _listings(kernel)[-2:] == [['-S', '-n'], ['-L', '-n', '--thresholds']]
    assert len(kernel.calls) == calls + 2
    assert '-x 100 -y 40' in res['rules'] and '-y 5' in res['rules']


def test_noop_keeps_unlisted_services_and_parses_only_them(run_module, kernel, parsed_lines):
    kernel.load('-A -t 203.0.113.9:25 -s rr\n-a -t 203.0.113.9:25 -r 198.51.100.40:25 -m -w 1')
    apply(run_module, [web()])
    del parsed_lines[:]
    res = apply(run_module, [web()])
    assert res['changed'] is False
    assert parsed_lines == ['-A -t 203.0.113.9:25 -s rr', '-a -t 203.0.113.9:25 -r 198.51.100.40:25 -m -w 1']
    assert '-A -t 203.0.113.9:25 -s rr\n' in res['rules']


def test_fast_path_goes_by_the_ids_matched_not_by_shared_objects(run_module, kernel, monkeypatch, parsed_lines):
    """live_table() shares the expected services for speed, but plan() and differences() skip the ids it
    reports as `same`, not objects that happen to be identical: equal copies in their place change
    nothing, and are not compared either."""
    from ansible_collections.lvs.cluster.plugins.module_utils import ipvs as ipvs_utils
    from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_host
    services = copy.deepcopy(EVERY_FORM)
    apply(run_module, copy.deepcopy(services))
    real_live_table = ipvs_host.live_table

    def live_table(text, expected=None):
        table, same = real_live_table(text, expected)
        return dict((sid, copy.deepcopy(svc)) for sid, svc in table.items()), same
    monkeypatch.setattr(ipvs_host, 'live_table', live_table)
    compared = []
    real_attrs = ipvs_utils.service_attrs
    monkeypatch.setattr(ipvs_utils, 'service_attrs', lambda svc: compared.append(svc['id']) or real_attrs(svc))
    del parsed_lines[:]

    res = apply(run_module, copy.deepcopy(services))
    assert res['changed'] is False and res['commands'] == []
    assert parsed_lines == [] and compared == []

    services[3]['destinations'][0]['weight'] = 4  # fwmark 1: planned, applied and confirmed by -S
    res = apply(run_module, copy.deepcopy(services))
    assert res['commands'] == ['-e -f 1 -r 198.51.100.11:0 -g -w 4']
    assert set(compared) == {'-f 1'}  # plan() before; the re-read after matched every service


def test_one_weight_changed_behind_our_back_parses_that_service_only(run_module, kernel, parsed_lines):
    services = [web(port=port) for port in range(80, 90)]
    apply(run_module, services)
    kernel.load('-e -t 192.0.2.100:84 -r 198.51.100.12:84 -g -w 7')  # out of band
    del parsed_lines[:]
    res = apply(run_module, services)
    assert res['commands'] == ['-e -t 192.0.2.100:84 -r 198.51.100.12:84 -g -w 2']
    assert sorted(parsed_lines) == sorted(['-A -t 192.0.2.100:84 -s wrr',
                                           '-a -t 192.0.2.100:84 -r 198.51.100.11:84 -g -w 1',
                                           '-a -t 192.0.2.100:84 -r 198.51.100.12:84 -g -w 7'])
    assert apply(run_module, services)['changed'] is False


def test_one_extra_line_behind_our_back_is_deleted(run_module, kernel):
    apply(run_module, [web(), web(port=443)])
    kernel.load('-a -t 192.0.2.100:443 -r 198.51.100.99:443 -g -w 1')
    res = apply(run_module, [web(), web(port=443)])
    assert res['commands'] == ['-d -t 192.0.2.100:443 -r 198.51.100.99:443']


def test_unexpected_formatting_falls_back_to_the_full_parse(run_module, kernel, monkeypatch, parsed_lines):
    """Lines that do not look like save_lines() (here: non-canonical spacing and an 'ipvsadm' prefix)
    are parsed like before; the result is the same."""
    apply(run_module, [web(), web(port=443)])
    real_save = kernel.save
    odd = 'ipvsadm  -a -t 192.0.2.100:443'
    monkeypatch.setattr(kernel, 'save', lambda: real_save().replace('-a -t 192.0.2.100:443', odd))
    del parsed_lines[:]
    res = apply(run_module, [web(), web(port=443)])
    assert res['changed'] is False and res['commands'] == []
    assert len(parsed_lines) >= 3


def test_apply_reads_thresholds_again_only_when_they_change(run_module, kernel):
    apply(run_module, [web()])
    assert _listings(kernel) == [['-S', '-n'], ['-L', '-n', '--thresholds'], ['-S', '-n']]
    del kernel.calls[:]
    apply(run_module, [web(scheduler='rr')])  # weight/scheduler only: -S confirms it
    assert _listings(kernel) == [['-S', '-n'], ['-L', '-n', '--thresholds'], ['-S', '-n']]
    for dests in ([{'address': '198.51.100.11', 'upper_threshold': 9}, {'address': '198.51.100.12', 'weight': 2}],
                  [{'address': '198.51.100.11'}, {'address': '198.51.100.12', 'weight': 2}],       # back to 0
                  [{'address': '198.51.100.11'}, {'address': '198.51.100.13', 'lower_threshold': 1}]):  # new
        del kernel.calls[:]
        res = apply(run_module, [web(scheduler='rr', destinations=dests)])
        assert res['changed'] is True
        assert _listings(kernel) == [['-S', '-n'], ['-L', '-n', '--thresholds'],
                                     ['-S', '-n'], ['-L', '-n', '--thresholds']], res['commands']


def test_silently_ignored_line_is_detected_after_apply(run_module, kernel):
    """The kernel drops one -e without any error output: the -S re-read must not match."""
    services = [web(port=port) for port in range(80, 90)]
    apply(run_module, services)
    real = kernel.command

    def command(tokens):
        if tokens[0] == '-e' and tokens[2] == '192.0.2.100:85':
            return 0
        return real(tokens)
    kernel.command = command
    for svc in services:
        svc['destinations'][1]['weight'] = 5
    res = run_module(ipvs_module.main, {'services': services}, expect_fail=True)
    assert len(kernel.batches[-1]) == 10
    assert res['msg'] == ('after ipvsadm -R the table differs from the desired state: -t 192.0.2.100:85 -r '
                          '198.51.100.12:85: is "-a -t 192.0.2.100:85 -r 198.51.100.12:85 -g -w 2", '
                          'wanted "-a -t 192.0.2.100:85 -r 198.51.100.12:85 -g -w 5"')


def test_silently_ignored_threshold_is_detected_after_apply(run_module, kernel):
    apply(run_module, [web()])
    real = kernel.command

    def command(tokens):
        return real([t for i, t in enumerate(tokens) if t != '-x' and tokens[i - 1] != '-x'])
    kernel.command = command
    res = run_module(ipvs_module.main, {'services': [web(destinations=[
        {'address': '198.51.100.11', 'upper_threshold': 50}, {'address': '198.51.100.12', 'weight': 2}])]},
        expect_fail=True)
    assert 'differs from the desired state' in res['msg']
    assert '-x 50' in res['msg']


# ---------------------------------------------------------------- -S and -L --thresholds at the same time

BIN = '/usr/sbin/ipvsadm'
SAVE_ARGV = [BIN, '-S', '-n']
LIST_ARGV = [BIN, '-L', '-n', '--thresholds']
REAL_RUN_IN_THREAD = Ipvsadm._run_in_thread  # before the conftest fixture replaces it


def with_thresholds(kernel):
    kernel.load('-A -t 192.0.2.100:80 -s wrr\n'
                '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 1 -x 30 -y 20\n'
                '-a -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 2')
    return [web(destinations=[{'address': '198.51.100.11', 'upper_threshold': 30, 'lower_threshold': 20},
                              {'address': '198.51.100.12', 'weight': 2}])]


def fail_listing(monkeypatch, kernel, argv, rc, err):
    real = kernel.run

    def run(args, **kw):
        if list(args) == argv:
            kernel.calls.append(list(args))
            return rc, '', err
        return real(args, **kw)
    monkeypatch.setattr(kernel, 'run', run)


def test_listings_run_at_the_same_time_and_are_merged(run_module, kernel, background):
    services = with_thresholds(kernel)
    res = apply(run_module, services)
    assert res['changed'] is False and res['commands'] == []  # the thresholds come from -L
    assert '-r 198.51.100.11:80 -g -w 1 -x 30 -y 20\n' in res['rules']
    assert [(b.argv, b.environ_update, b.waited) for b in background] == [
        (LIST_ARGV, {'LC_ALL': 'C', 'LANG': 'C'}, True)]
    assert kernel.calls == [SAVE_ARGV, LIST_ARGV]  # -S through run_command, -L only in the background


@pytest.mark.parametrize('rc, err, msg', [
    (1, 'Memory allocation problem\n', 'ipvsadm -L -n --thresholds failed: Memory allocation problem'),
    (2, "Can't initialize ipvs: Protocol not available\n",
     "IPVS is not available on this host (is the ip_vs kernel module loadable?): "
     "Can't initialize ipvs: Protocol not available"),
], ids=['error', 'IPVS not available'])
def test_error_of_the_background_listing_fails_like_before(run_module, kernel, background, monkeypatch, rc, err, msg):
    services = with_thresholds(kernel)
    fail_listing(monkeypatch, kernel, LIST_ARGV, rc, err)
    res = run_module(ipvs_module.main, {'services': services}, expect_fail=True)
    assert res['msg'] == msg and res['rc'] == rc
    if rc == 1:
        assert (res['stdout'], res['stderr']) == ('', err)
    assert [b.argv for b in background] == [LIST_ARGV]
    assert kernel.calls == [SAVE_ARGV, LIST_ARGV]


def test_error_of_save_is_reported_once_the_background_listing_is_collected(
        run_module, kernel, background, monkeypatch):
    services = with_thresholds(kernel)
    fail_listing(monkeypatch, kernel, SAVE_ARGV, 1, 'Memory allocation problem\n')
    res = run_module(ipvs_module.main, {'services': services}, expect_fail=True)
    assert res['msg'] == 'ipvsadm -S -n failed: Memory allocation problem'
    assert [(b.argv, b.waited) for b in background] == [(LIST_ARGV, True)]  # no process left behind


class Unread(object):
    def wait(self):
        return None


def cannot_start(self, argv, environ_update):
    raise RuntimeError("can't start new thread")


def raising_in_threads(monkeypatch, kernel):
    """run_command() raises (as with handle_exceptions=False) when called from any thread but the main one."""
    real = kernel.run

    def run(args, **kw):
        if threading.current_thread() is not threading.main_thread():
            assert kw.get('handle_exceptions') is False, 'run_command must not fail the module from a thread'
            raise OSError(12, 'Cannot allocate memory')
        return real(args, **kw)
    monkeypatch.setattr(kernel, 'run', run)


@pytest.mark.parametrize('start', ['no thread', 'raised in the thread', 'real thread, run_command raised'])
def test_listing_that_cannot_run_in_the_background_runs_afterwards(run_module, kernel, monkeypatch, start):
    services = with_thresholds(kernel)
    if start == 'no thread':
        monkeypatch.setattr(Ipvsadm, '_run_in_thread', cannot_start)
    elif start == 'raised in the thread':
        monkeypatch.setattr(Ipvsadm, '_run_in_thread', lambda self, argv, environ_update: Unread())
    else:
        monkeypatch.setattr(Ipvsadm, '_run_in_thread', REAL_RUN_IN_THREAD)
        raising_in_threads(monkeypatch, kernel)
    res = run_module(ipvs_module.main, {'services': services})
    assert res['changed'] is False and res['commands'] == []
    assert '-x 30 -y 20' in res['rules']
    assert kernel.calls == [SAVE_ARGV, LIST_ARGV]


def test_the_second_listing_goes_through_run_command_in_a_second_thread(run_module, kernel, monkeypatch):
    """No process of its own: both listings are module.run_command(), -L from another thread."""
    services = with_thresholds(kernel)
    monkeypatch.setattr(Ipvsadm, '_run_in_thread', REAL_RUN_IN_THREAD)
    real, seen = kernel.run, []

    def run(args, **kw):
        seen.append((list(args), threading.current_thread() is threading.main_thread(), kw.get('handle_exceptions')))
        return real(args, **kw)
    monkeypatch.setattr(kernel, 'run', run)
    res = apply(run_module, services)
    assert res['changed'] is False and '-x 30 -y 20' in res['rules']
    assert sorted(seen) == sorted([(SAVE_ARGV, True, None), (LIST_ARGV, False, False)])


def test_reread_with_thresholds_known_runs_save_only(run_module, kernel, background):
    apply(run_module, [web()])
    del kernel.calls[:], background[:]
    res = apply(run_module, [web(scheduler='rr')])
    assert res['commands'] == ['-E -t 192.0.2.100:80 -s rr']
    restore = kernel.calls.index([BIN, '-R'])
    assert kernel.calls[:restore] == [SAVE_ARGV, LIST_ARGV]
    assert [b.argv for b in background] == [LIST_ARGV]        # the read before applying only
    assert kernel.calls[restore + 1:] == [SAVE_ARGV]         # the re-read: -S, nothing started


# ---------------------------------------------------------------- drained_dir and wait_idle (rolling maintenance)

def test_drained_dir_holds_a_server_at_weight_zero_in_every_service_until_its_file_goes(run_module, kernel, tmp_path):
    held = tmp_path / 'drained'
    apply(run_module, [web(), web(port=443)], drained_dir=str(held))  # no directory yet: nobody held out
    held.mkdir()
    (held / '198.51.100.12').touch()
    res = apply(run_module, [web(), web(port=443)], drained_dir=str(held))
    assert res['commands'] == ['-e -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 0',
                               '-e -t 192.0.2.100:443 -r 198.51.100.12:443 -g -w 0']
    assert res['held_out'] == ['198.51.100.12']
    # held across runs: the declared weight 2 does not put it back
    assert apply(run_module, [web(), web(port=443)], drained_dir=str(held))['changed'] is False
    (held / '198.51.100.12').unlink()
    res = apply(run_module, [web(), web(port=443)], drained_dir=str(held))
    assert res['commands'] == ['-e -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 2',
                               '-e -t 192.0.2.100:443 -r 198.51.100.12:443 -g -w 2']
    assert res['held_out'] == []


def test_drained_dir_names_are_read_as_addresses(run_module, kernel, tmp_path):
    six = {'address': '2001:db8::100', 'port': 80, 'destinations': [{'address': '2001:db8::11'}]}
    (tmp_path / '2001:0db8:0:0::11').touch()  # not canonical, still the same address
    (tmp_path / 'notes.txt').touch()
    res = apply(run_module, [web(), six], drained_dir=str(tmp_path))
    assert res['held_out'] == ['2001:db8::11']
    assert '-a -t [2001:db8::100]:80 -r [2001:db8::11]:80 -g -w 0' in res['commands']
    assert res['warnings'] == ['drained_dir: ignored %s, whose name is not a real server address'
                               % (tmp_path / 'notes.txt')]


def test_wait_idle_waits_for_the_server_in_every_service_without_changing_anything_else(
        run_module, kernel, clock, monkeypatch, tmp_path):
    apply(run_module, [web(), web(port=443)])
    svc80, svc443 = ('TCP',) + _key(VIP, 80), ('TCP',) + _key(VIP, 443)
    kernel.conns[(svc80, _key('198.51.100.11', 80))] = [3, 0]
    kernel.conns[(svc443, _key('198.51.100.11', 443))] = [1, 0]
    kernel.conns[(svc80, _key('198.51.100.12', 80))] = [9, 0]  # another server's connections: not waited for
    real_listing = kernel.listing

    def listing(opts):
        if clock.now >= 4:
            kernel.conns[(svc80, _key('198.51.100.11', 80))] = [0, 3]
        if clock.now >= 6:
            kernel.conns[(svc443, _key('198.51.100.11', 443))] = [0, 1]
        return real_listing(opts)
    monkeypatch.setattr(kernel, 'listing', listing)
    (tmp_path / '198.51.100.11').touch()
    res = apply(run_module, [web(), web(port=443)], drained_dir=str(tmp_path), wait_idle=['198.51.100.11'],
                drain_timeout=60)
    assert 6 <= clock.now < 8
    assert res['idle'] == {'waited_for': ['-t 192.0.2.100:443 -r 198.51.100.11:443', '-t 192.0.2.100:80 -r 198.51.100.11:80'],
                           'still_active': []}
    assert '198.51.100.11:80 -g -w 0' in kernel.save() and '198.51.100.12:80 -g -w 2' in kernel.save()


def test_wait_idle_gives_up_after_drain_timeout_and_says_which(run_module, kernel, clock):
    apply(run_module, [web()])
    kernel.conns[(('TCP',) + _key(VIP, 80), _key('198.51.100.11', 80))] = [1, 0]
    res = apply(run_module, [web()], wait_idle=['198.51.100.11'], drain_timeout=5)
    assert res['changed'] is False
    assert clock.now == pytest.approx(5)
    assert res['idle']['still_active'] == ['-t 192.0.2.100:80 -r 198.51.100.11:80']


def test_wait_idle_check_mode_does_not_wait(run_module, kernel, clock):
    apply(run_module, [web()])
    kernel.conns[(('TCP',) + _key(VIP, 80), _key('198.51.100.11', 80))] = [1, 0]
    res = run_module(ipvs_module.main, {'services': [web()], 'wait_idle': ['198.51.100.11'], 'drain_timeout': 30},
                     check_mode=True)
    assert clock.now == 0 and res['idle']['still_active'] == []


@pytest.mark.parametrize('value, field', [
    (['198.51.100.11', 'web1'], 'wait_idle[1]'),
    (['127.0.0.1'], 'wait_idle[0]'),
    (['198.51.100.11\n'], 'wait_idle[0]'),
])
def test_wait_idle_takes_only_real_server_addresses(run_module, kernel, value, field):
    res = run_module(ipvs_module.main, {'services': [web()], 'wait_idle': value}, expect_fail=True)
    assert res['field'] == field and res['msg'].startswith(field + ': ')
    assert kernel.calls == []


def test_only_weights_of_changes_that_servers_weight_and_nothing_else(run_module, kernel, tmp_path):
    # live: web with .11 and .12 plus a server added by hand (.99), and a service nobody declares
    apply(run_module, [web(destinations=[{'address': '198.51.100.11', 'weight': 1}, {'address': '198.51.100.12', 'weight': 2},
                                         {'address': '198.51.100.99', 'weight': 5}]), web(port=8443)])
    before = kernel.save()
    # the declaration meanwhile lost .99, gained .13 and changed .11's weight: none of that may go live
    declared = [web(destinations=[{'address': '198.51.100.11', 'weight': 4}, {'address': '198.51.100.12', 'weight': 2},
                                  {'address': '198.51.100.13'}])]
    (tmp_path / '198.51.100.12').touch()
    res = apply(run_module, declared, drained_dir=str(tmp_path), only_weights_of=['198.51.100.12'], purge=True,
                drain_timeout=30)
    assert res['commands'] == ['-e -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 0']
    assert kernel.save() == before.replace('198.51.100.12:80 -g -w 2', '198.51.100.12:80 -g -w 0')
    assert apply(run_module, declared, drained_dir=str(tmp_path), only_weights_of=['198.51.100.12'])['changed'] is False
    (tmp_path / '198.51.100.12').unlink()
    res = apply(run_module, declared, drained_dir=str(tmp_path), only_weights_of=['198.51.100.12'])
    assert res['commands'] == ['-e -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 2']
    assert kernel.save() == before
