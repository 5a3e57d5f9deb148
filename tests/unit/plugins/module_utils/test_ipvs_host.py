# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ipvsadm with real processes: the two listings of read() at the same time (module_utils/ipvs_host.py).

The module tests fake ipvsadm through run_command() and Ipvsadm._run_in_thread(); these run real
programs (a Python script standing in for ipvsadm) through the real AnsibleModule.run_command(), one
of them from the second thread of the real _run_in_thread().
"""

from __future__ import annotations

import sys
import threading

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_host
from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_host import Ipvsadm

DESTS = 3000  # the -L listing (~180 kB) is larger than a pipe buffer (64 kB)

# -S waits until -L has written all its output and exited: it fails if the two run one after the other,
# or if nobody reads the output of -L while run_command() runs -S.
FAKE_IPVSADM = '''#!%s
import os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
if os.environ.get('LC_ALL') != 'C' or os.environ.get('LANG') != 'C':
    sys.stderr.write('not the C locale\\n')
    sys.exit(3)
if sys.argv[1:] == ['-L', '-n', '--thresholds']:
    out = ['IP Virtual Server version 1.2.1 (size=4096)',
           'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn',
           '  -> RemoteAddress:Port', 'TCP  192.0.2.100:80 wrr']
    for i in range(%d):
        x, y = (30, 20) if i == 7 else (0, 0)
        out.append('  -> 10.%%d.%%d.%%d:80 %%-10u %%-10u 0          0' %% (i >> 16, (i >> 8) & 255, i & 255, x, y))
    sys.stdout.write(''.join(line + '\\n' for line in out))
    sys.stdout.flush()
    open(os.path.join(here, 'listed'), 'w').close()
elif sys.argv[1:] == ['-S', '-n']:
    deadline = time.time() + float(os.environ.get('FAKE_WAIT', '0'))
    while not os.path.exists(os.path.join(here, 'listed')):
        if time.time() > deadline:
            sys.stderr.write('-L -n --thresholds did not run at the same time\\n')
            sys.exit(1)
        time.sleep(0.01)
    print('-A -t 192.0.2.100:80 -s wrr')
    print('-a -t 192.0.2.100:80 -r 10.0.0.7:80 -g -w 1')
else:
    sys.stderr.write('unexpected %%r\\n' %% sys.argv[1:])
    sys.exit(2)
''' % (sys.executable, DESTS)


class Failed(Exception):
    pass


@pytest.fixture
def ipvsadm(tmp_path, monkeypatch):
    path = tmp_path / 'ipvsadm'
    path.write_text(FAKE_IPVSADM)
    path.chmod(0o755)
    monkeypatch.setenv('FAKE_WAIT', '10')
    monkeypatch.setenv('LC_ALL', 'de_DE.UTF-8')
    with patch_module_args({}):
        module = AnsibleModule(argument_spec={})

    def fail_json(msg, **kw):
        raise Failed(msg, kw)
    monkeypatch.setattr(module, 'fail_json', fail_json)
    monkeypatch.setattr(module, 'get_bin_path', lambda name, *a, **kw: str(path))
    return Ipvsadm(module)


def record_run_command(monkeypatch, module, raise_in_thread=False):
    """[(argv, from the main thread?, kwargs)] of every module.run_command() call, in the order they start."""
    calls = []
    real = module.run_command

    def run_command(args, **kw):
        main = threading.current_thread() is threading.main_thread()
        calls.append((list(args[1:]), main, kw))
        if raise_in_thread and not main:
            raise OSError(24, 'Too many open files')
        return real(args, **kw)
    monkeypatch.setattr(module, 'run_command', run_command)
    return calls


def test_read_runs_both_listings_at_the_same_time(ipvsadm, tmp_path, monkeypatch):
    calls = record_run_command(monkeypatch, ipvsadm.module)
    table, thresholds, same = ipvsadm.read()
    assert thresholds == {('-t 192.0.2.100:80', '10.0.0.7:80'): (30, 20)}
    dest = table['-t 192.0.2.100:80']['destinations']['10.0.0.7:80']
    assert (dest['weight'], dest['upper_threshold'], dest['lower_threshold']) == (1, 30, 20)
    assert same == set()
    assert (tmp_path / 'listed').exists()
    # both through run_command(): -S in this thread, -L in another one, which must not fail the module itself
    assert sorted((argv, main) for argv, main, _kw in calls) == [(['-L', '-n', '--thresholds'], False),
                                                                 (['-S', '-n'], True)]
    assert [kw.get('handle_exceptions') for argv, main, kw in calls if not main] == [False]
    assert all(kw['environ_update'] == {'LC_ALL': 'C', 'LANG': 'C'} for _argv, _main, kw in calls)


def test_no_process_of_its_own():
    assert not hasattr(ipvs_host, 'subprocess')


def test_read_again_and_again_leaves_no_thread_behind(ipvsadm, tmp_path):
    before = threading.active_count()
    for _i in range(5):
        (tmp_path / 'listed').unlink(missing_ok=True)
        assert ipvsadm.read()[1] == {('-t 192.0.2.100:80', '10.0.0.7:80'): (30, 20)}
    assert threading.active_count() == before


def test_read_with_thresholds_runs_save_only(ipvsadm, tmp_path, monkeypatch):
    monkeypatch.setenv('FAKE_WAIT', '0')
    (tmp_path / 'listed').touch()  # -S would otherwise fail: -L is not run
    table, thresholds, _same = ipvsadm.read(thresholds={})
    assert thresholds == {}
    assert table['-t 192.0.2.100:80']['destinations']['10.0.0.7:80']['upper_threshold'] == 0
    (tmp_path / 'listed').unlink()
    with pytest.raises(Failed, match='-L -n --thresholds did not run at the same time'):
        ipvsadm.read(thresholds={})  # shows that the -S above needed the file


def test_run_command_raising_in_the_thread_runs_the_listing_again_afterwards(ipvsadm, tmp_path, monkeypatch):
    monkeypatch.setenv('FAKE_WAIT', '0')
    (tmp_path / 'listed').touch()  # -L does not run beside -S here
    calls = record_run_command(monkeypatch, ipvsadm.module, raise_in_thread=True)
    _table, thresholds, _same = ipvsadm.read()
    assert thresholds == {('-t 192.0.2.100:80', '10.0.0.7:80'): (30, 20)}
    assert [(argv, main) for argv, main, _kw in calls if main] == [(['-S', '-n'], True),
                                                                   (['-L', '-n', '--thresholds'], True)]


def test_a_missing_program_fails_in_the_main_thread(ipvsadm, tmp_path):
    ipvsadm.path = str(tmp_path / 'missing')
    before = threading.active_count()
    with pytest.raises(Failed, match='Error executing command'):
        ipvsadm.read()
    assert threading.active_count() == before  # the second thread was waited for


def test_active_connections_from_the_thresholds_listing(ipvsadm):
    counts = ipvsadm.active_connections()
    assert len(counts) == DESTS and set(counts.values()) == {0}
    assert counts[('-t 192.0.2.100:80', '10.0.0.7:80')] == 0
