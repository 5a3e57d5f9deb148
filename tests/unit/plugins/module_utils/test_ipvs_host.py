# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ipvsadm with real processes: the background listing of read() (module_utils/ipvs_host.py).

The module tests fake ipvsadm through run_command() and Ipvsadm._start(); these run real programs
(a Python script standing in for ipvsadm) through the real AnsibleModule.run_command() and _start().
"""

from __future__ import annotations

import sys
import time

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_host import C_LOCALE, Ipvsadm

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


def test_read_runs_both_listings_at_the_same_time(ipvsadm, tmp_path):
    table, thresholds = ipvsadm.read()
    assert thresholds == {('-t 192.0.2.100:80', '10.0.0.7:80'): (30, 20)}
    dest = table['-t 192.0.2.100:80']['destinations']['10.0.0.7:80']
    assert (dest['weight'], dest['upper_threshold'], dest['lower_threshold']) == (1, 30, 20)
    assert (tmp_path / 'listed').exists()


def test_read_with_thresholds_runs_save_only(ipvsadm, tmp_path, monkeypatch):
    monkeypatch.setenv('FAKE_WAIT', '0')
    (tmp_path / 'listed').touch()  # -S would otherwise fail: -L is not run
    table, thresholds = ipvsadm.read(thresholds={})
    assert thresholds == {}
    assert table['-t 192.0.2.100:80']['destinations']['10.0.0.7:80']['upper_threshold'] == 0
    (tmp_path / 'listed').unlink()
    with pytest.raises(Failed, match='-L -n --thresholds did not run at the same time'):
        ipvsadm.read(thresholds={})  # shows that the -S above needed the file


def test_start_gives_rc_text_output_and_the_run_command_environment(ipvsadm, monkeypatch):
    monkeypatch.setattr(ipvsadm.module, 'run_command_environ_update', {'EXTRA': 'x'})
    script = ('import os, sys; sys.stdout.write("%s %s %s\\n" % (os.environ["LC_ALL"], os.environ["LANG"], '
              'os.environ["EXTRA"]) + "\\u00e9" * 100000); sys.stderr.write("bad\\n"); sys.exit(3)')
    rc, out, err = ipvsadm._start([sys.executable, '-c', script], environ_update=C_LOCALE).wait()
    assert (rc, err) == (3, 'bad\n')
    assert out == 'C C x\n' + u'\u00e9' * 100000


def test_start_reads_the_output_before_wait(ipvsadm, tmp_path):
    done = tmp_path / 'done'
    script = 'import sys; sys.stdout.write("x" * 1000000); sys.stdout.flush(); open(sys.argv[1], "w").close()'
    started = ipvsadm._start([sys.executable, '-c', script, str(done)], environ_update=C_LOCALE)
    deadline = time.time() + 20
    while not done.exists() and time.time() < deadline:
        time.sleep(0.01)
    try:
        assert done.exists(), 'the process blocked on a full pipe: nobody read its output'
    finally:
        rc, out, _err = started.wait()
    assert (rc, len(out)) == (0, 1000000)


def test_start_of_a_missing_program_raises_oserror(ipvsadm, tmp_path):
    with pytest.raises(OSError):
        ipvsadm._start([str(tmp_path / 'missing')], environ_update=C_LOCALE)
