# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs.cluster.netstate's own logic, in a fake root under tmp_path.

The module's SCRIPT, UNIT_FILE and DATA_DIR point into the fake root; `systemctl` is a small sh script
that logs its calls and keeps each unit's enabled/active state in files (its `start` runs the installed
script's `apply`, its `disable --now` the script's `stop`, as the unit would); and the lvs-netstate script
the module installs is a fake too, which logs its argv and prints what the test told it to. The real
script's behaviour is tested in tests/unit/scripts/test_lvs_netstate.py.

Every command that runs appends one line to one log, in order: `systemctl ARGS` or `SCRIPT-PATH ARGS`,
with the fake root's prefix taken off paths (so they read as on a host).
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from pathlib import Path

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lvs.cluster.plugins.modules import netstate as netstate_module

# Captured when this file is imported, before conftest's run_module fixture replaces them with fakes.
REAL_RUN_COMMAND = basic.AnsibleModule.run_command
REAL_FAIL_JSON = basic.AnsibleModule.fail_json

ROOT_DIR = Path(__file__).resolve().parents[4]
UNIT = (ROOT_DIR / 'roles' / 'common' / 'files' / 'lvs-netstate@.service').read_text()

UNIT_NAME = 'lvs-netstate@realserver.service'
SCRIPT = '/usr/local/sbin/lvs-netstate'
UNIT_FILE = '/etc/systemd/system/lvs-netstate@.service'
DATA_DIR = '/etc/lvs-cluster'
DATA_FILE = '/etc/lvs-cluster/realserver.conf'
SHOW = 'systemctl show --property=UnitFileState --property=ActiveState ' + UNIT_NAME
APPLY = SCRIPT + ' apply ' + DATA_FILE
APPLY_KEEP = SCRIPT + ' apply --keep-stale ' + DATA_FILE
CHECK_STATUS = '/tmp/lvs-netstate-check-*/lvs-netstate status /tmp/lvs-netstate-check-*/realserver.conf'

DATA = ('sysctl net.ipv4.conf.all.arp_ignore 1\n'
        'sysctl net.ipv4.conf.all.arp_announce 2\n'
        'address lo 192.0.2.100/32\n')
DATA2 = DATA + 'address lo 192.0.2.101/32\n'

# The script the module installs: logs "$0 $*", keeps a copy of the FILE it was given as CMD.data, prints
# CMD.out on stdout and CMD.err on stderr and exits with CMD.rc (0 without it), all from $FAKE_DIR.
FAKE_SCRIPT = r'''#!/bin/sh
# fake lvs-netstate (tests/unit/plugins/modules/test_netstate_module.py)
printf '%s %s\n' "$0" "$*" >> "$FAKE_DIR/log"
cmd=$1
for file; do :; done
if [ -f "$file" ]; then cp "$file" "$FAKE_DIR/$cmd.data"; fi
if [ -f "$FAKE_DIR/$cmd.out" ]; then cat "$FAKE_DIR/$cmd.out"; fi
if [ -f "$FAKE_DIR/$cmd.err" ]; then cat "$FAKE_DIR/$cmd.err" >&2; fi
exit "$(cat "$FAKE_DIR/$cmd.rc" 2>/dev/null || echo 0)"
'''

# systemctl: UNIT.enabled / UNIT.active hold the unit's state; loaded.service the unit file as of the last
# daemon-reload. enable and start refuse a unit file that is not loaded or changed on disk since.
FAKE_SYSTEMCTL = r'''#!/bin/sh
printf 'systemctl %s\n' "$*" >> "$FAKE_DIR/log"
for unit; do :; done
inst=${unit#lvs-netstate@}
inst=${inst%.service}
script=$FAKE_ROOT/usr/local/sbin/lvs-netstate
conf=$FAKE_ROOT/etc/lvs-cluster/$inst.conf
unit_file=$FAKE_ROOT/etc/systemd/system/lvs-netstate@.service
st=$FAKE_DIR/$unit
loaded() {
    if ! cmp -s "$FAKE_DIR/loaded.service" "$unit_file"; then
        echo "fake systemctl: $unit: unit file not loaded, or changed on disk since the last daemon-reload" >&2
        exit 5
    fi
}
case $1 in
    daemon-reload)
        rm -f "$FAKE_DIR/loaded.service"
        if [ -f "$unit_file" ]; then cp "$unit_file" "$FAKE_DIR/loaded.service"; fi
        ;;
    show)
        printf 'UnitFileState=%s\nActiveState=%s\n' "$(cat "$st.enabled" 2>/dev/null || echo disabled)" \
            "$(cat "$st.active" 2>/dev/null || echo inactive)"
        ;;
    enable)
        loaded
        echo enabled > "$st.enabled"
        ;;
    start)
        loaded
        if "$script" apply "$conf" > /dev/null 2>&1; then
            echo active > "$st.active"
        else
            echo failed > "$st.active"
            echo "Job for $unit failed because the control process exited with error code." >&2
            exit 1
        fi
        ;;
    disable)
        echo disabled > "$st.enabled"
        if [ "$2" = --now ] && [ "$(cat "$st.active" 2>/dev/null)" != inactive ]; then
            "$script" stop "$conf" > /dev/null 2>&1
            echo inactive > "$st.active"
        fi
        ;;
    *)
        echo "fake systemctl: unexpected: $*" >&2
        exit 64
        ;;
esac
'''


class Host(object):
    """The fake root, the fakes' directory, and a module runner."""

    def __init__(self, tmp_path, run_module):
        self.root = tmp_path / 'root'
        self.fake = tmp_path / 'fake'
        self._run_module = run_module
        self.commands = []

    def path(self, host_path):
        return self.root / host_path.lstrip('/')

    def norm(self, text):
        text = text.replace(str(self.root), '')
        return re.sub(r'/tmp/lvs-netstate-check-[^/ ]+/', '/tmp/lvs-netstate-check-*/', text)

    def log(self):
        """What ran during the last run(), in order."""
        log = self.fake / 'log'
        return self.norm(log.read_text()).splitlines() if log.exists() else []

    def says(self, cmd, *lines, rc=None, err=''):
        """What the fake script prints and exits with for CMD (apply, status, stop)."""
        if rc is None:
            rc = 1 if cmd == 'status' and lines else 0
        (self.fake / (cmd + '.out')).write_text(''.join(line + '\n' for line in lines))
        (self.fake / (cmd + '.err')).write_text(err)
        (self.fake / (cmd + '.rc')).write_text('%d\n' % rc)

    def seen_data(self, cmd):
        """The data file the fake script was last given for CMD."""
        return (self.fake / (cmd + '.data')).read_text()

    def unit_state(self):
        def read(what):
            p = self.fake / ('%s.%s' % (UNIT_NAME, what))
            return p.read_text().strip() if p.exists() else None
        return read('enabled'), read('active')

    def set_unit(self, enabled=None, active=None):
        if enabled is not None:
            (self.fake / (UNIT_NAME + '.enabled')).write_text(enabled + '\n')
        if active is not None:
            (self.fake / (UNIT_NAME + '.active')).write_text(active + '\n')

    def read(self, host_path):
        return self.path(host_path).read_text()

    def mode(self, host_path):
        return stat.S_IMODE(os.stat(self.path(host_path)).st_mode)

    def files(self):
        """Every file under the fake root (host paths), to tell that nothing else was written."""
        return sorted('/' + str(p.relative_to(self.root)) for p in self.root.rglob('*') if p.is_file())

    def run(self, check_mode=False, diff=False, expect_fail=False, **args):
        """Run the module; args default to a present realserver with FAKE_SCRIPT, the real unit and DATA
        (an arg of None leaves it out). The log and the command list start empty on every run."""
        params = dict(instance='realserver', script=FAKE_SCRIPT, unit=UNIT, data=DATA)
        params.update(args)
        params = dict((k, v) for k, v in params.items() if v is not None)
        (self.fake / 'log').write_text('')
        del self.commands[:]
        res = self._run_module(netstate_module.main, params, check_mode=check_mode, diff=diff,
                               expect_fail=expect_fail)
        return res

    def install(self, **args):
        """A host the module set up: files in place, unit enabled and active."""
        res = self.run(**args)
        assert res['changed'] is True
        assert self.unit_state() == ('enabled', 'active')
        return res


@pytest.fixture
def host(tmp_path, monkeypatch, run_module):
    """conftest's run_module (exit_json/fail_json/warn captured), with run_command the real one (recording
    each call) and systemctl the fake one, in a fake root with /usr/local/sbin and /etc/systemd/system."""
    h = Host(tmp_path, run_module)
    for d in ('usr/local/sbin', 'etc/systemd/system', 'tmp'):
        (h.root / d).mkdir(parents=True)
    h.fake.mkdir()
    systemctl = h.fake / 'systemctl'
    systemctl.write_text(FAKE_SYSTEMCTL)
    systemctl.chmod(0o755)
    monkeypatch.setattr(netstate_module, 'SCRIPT', str(h.path(SCRIPT)))
    monkeypatch.setattr(netstate_module, 'UNIT_FILE', str(h.path(UNIT_FILE)))
    monkeypatch.setattr(netstate_module, 'DATA_DIR', str(h.path(DATA_DIR)))
    monkeypatch.setattr(tempfile, 'tempdir', str(h.root / 'tmp'))
    monkeypatch.setenv('FAKE_DIR', str(h.fake))
    monkeypatch.setenv('FAKE_ROOT', str(h.root))

    def run_command(self, args, **kw):
        h.commands.append((list(args), kw.get('environ_update')))
        return REAL_RUN_COMMAND(self, args, **kw)

    def get_bin_path(self, name, required=False, opt_dirs=None):
        assert name == 'systemctl' and required
        return str(systemctl)

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', get_bin_path)
    return h


def changes(host, res):
    return [host.norm(line) for line in res['changes']]


# ---------------------------------------------------------------------------------------------------------
# state=present

def test_fresh_host_writes_files_reloads_enables_and_starts(host):
    res = host.run()
    assert res['changed'] is True
    assert res['stale'] is False
    assert changes(host, res) == [
        'created /etc/lvs-cluster',
        'wrote /usr/local/sbin/lvs-netstate',
        'wrote /etc/systemd/system/lvs-netstate@.service',
        'wrote /etc/lvs-cluster/realserver.conf',
        'enabled lvs-netstate@realserver.service',
        'started lvs-netstate@realserver.service',
    ]
    assert host.log() == [
        'systemctl daemon-reload',
        SHOW,
        'systemctl enable ' + UNIT_NAME,
        'systemctl start ' + UNIT_NAME,
        APPLY,  # run by the (fake) unit's start
        APPLY,  # then by the module, which always applies (the unit's start keeps stale items)
    ]
    assert host.files() == [DATA_FILE, UNIT_FILE, SCRIPT]
    assert host.read(SCRIPT) == FAKE_SCRIPT
    assert host.read(UNIT_FILE) == UNIT
    assert host.read(DATA_FILE) == DATA
    assert (host.mode(SCRIPT), host.mode(UNIT_FILE), host.mode(DATA_FILE)) == (0o755, 0o644, 0o644)
    assert host.path(DATA_DIR).is_dir()
    assert host.unit_state() == ('enabled', 'active')
    assert 'diff' not in res and 'warnings' not in res
    # Every command in the C locale.
    assert [env for _argv, env in host.commands] == [{'LC_ALL': 'C', 'LANG': 'C'}] * 5


def test_second_identical_run_applies_and_changes_nothing(host):
    host.install()
    res = host.run()
    assert res == dict(res, changed=False, changes=[], stale=False)
    assert host.log() == [SHOW, APPLY]
    assert host.files() == [DATA_FILE, UNIT_FILE, SCRIPT]
    assert (host.mode(SCRIPT), host.mode(UNIT_FILE), host.mode(DATA_FILE)) == (0o755, 0o644, 0o644)


def test_data_without_final_newline_is_written_with_one(host):
    host.run(data=DATA.rstrip('\n'))
    assert host.read(DATA_FILE) == DATA
    res = host.run(data=DATA.rstrip('\n'))
    assert res['changed'] is False


def test_data_change_on_active_unit_applies_and_returns_its_lines(host):
    host.install()
    host.says('apply', '+ address lo 192.0.2.101/32')
    res = host.run(data=DATA2)
    assert res['changed'] is True and res['stale'] is False
    assert changes(host, res) == ['wrote /etc/lvs-cluster/realserver.conf', '+ address lo 192.0.2.101/32']
    assert host.log() == [SHOW, APPLY]
    assert host.seen_data('apply') == DATA2
    assert host.read(DATA_FILE) == DATA2


def test_apply_output_alone_is_a_change(host):
    """Files the same, but the host drifted: what apply puts back is reported."""
    host.install()
    host.says('apply', '~ sysctl net.ipv4.conf.all.arp_ignore 1', '', '+ address lo 192.0.2.100/32')
    res = host.run()
    assert res['changed'] is True
    assert res['changes'] == ['~ sysctl net.ipv4.conf.all.arp_ignore 1', '+ address lo 192.0.2.100/32']
    assert host.log() == [SHOW, APPLY]


NOTE = 'module ip_vs conn_tab_bits=12 (loaded so; conn_tab_bits=20 is used when ip_vs is next loaded)'


def test_a_note_of_the_script_is_a_warning_not_a_change(host):
    host.install()
    host.says('apply', '! ' + NOTE)
    res = host.run()
    assert res == dict(res, changed=False, changes=[], notes=[NOTE], warnings=[NOTE])


def test_a_note_in_check_mode_and_with_keep_stale_is_no_change_and_no_stale_item(host):
    host.install(keep_stale=True)
    host.says('apply', '! ' + NOTE)
    res = host.run(keep_stale=True)
    assert res == dict(res, changed=False, changes=[], stale=False, notes=[NOTE], warnings=[NOTE])
    host.says('status', '! ' + NOTE, rc=0)
    res = host.run(check_mode=True)
    assert res == dict(res, changed=False, changes=[], notes=[NOTE], warnings=[NOTE])


@pytest.mark.parametrize('kept, stale', [
    (['= - address lo 192.0.2.101/32'], True),
    ([], False),
])
def test_keep_stale_applies_with_keep_stale_and_reads_the_kept_items_from_its_output(host, kept, stale):
    host.install(data=DATA2, keep_stale=True)
    host.says('apply', '+ address lo 192.0.2.102/32', *kept)
    data3 = DATA + 'address lo 192.0.2.102/32\n'
    res = host.run(data=data3, keep_stale=True)
    assert res['changed'] is True
    assert res['stale'] is stale
    # the "= " lines are what is kept, not changes
    assert changes(host, res) == ['wrote /etc/lvs-cluster/realserver.conf', '+ address lo 192.0.2.102/32']
    # one run of the script: no status after the apply
    assert host.log() == [SHOW, APPLY_KEEP]
    assert host.seen_data('apply') == data3


def test_keep_stale_output_with_a_note_a_kept_item_and_a_change(host):
    host.install(keep_stale=True)
    host.says('apply', '! ' + NOTE, '~ sysctl net.ipv4.conf.lo.arp_ignore 1 -> 2', '= - address lo 192.0.2.101/32')
    res = host.run(keep_stale=True)
    assert res == dict(res, changed=True, changes=['~ sysctl net.ipv4.conf.lo.arp_ignore 1 -> 2'], stale=True,
                       notes=[NOTE], warnings=[NOTE])
    assert host.log() == [SHOW, APPLY_KEEP]


def test_keep_stale_with_only_kept_items_is_no_change(host):
    host.install(keep_stale=True)
    host.says('apply', '= - address lo 192.0.2.101/32', '= - sysctl net.ipv4.conf.all.arp_announce restored to 0')
    res = host.run(keep_stale=True)
    assert res == dict(res, changed=False, changes=[], stale=True)
    assert host.log() == [SHOW, APPLY_KEEP]


def test_keep_stale_on_fresh_host_starts_then_applies_once(host):
    res = host.run(keep_stale=True)
    assert res['stale'] is False
    assert host.log() == ['systemctl daemon-reload', SHOW, 'systemctl enable ' + UNIT_NAME,
                          'systemctl start ' + UNIT_NAME, APPLY, APPLY_KEEP]


def test_unit_file_change_reloads_before_apply(host):
    host.install()
    unit2 = UNIT.replace('Wants=network-online.target\n', 'Wants=network-online.target\nBefore=keepalived.service\n')
    res = host.run(unit=unit2)
    assert res['changed'] is True
    assert changes(host, res) == ['wrote /etc/systemd/system/lvs-netstate@.service']
    assert host.log() == ['systemctl daemon-reload', SHOW, APPLY]
    assert host.read(UNIT_FILE) == unit2 and host.mode(UNIT_FILE) == 0o644
    assert (host.fake / 'loaded.service').read_text() == unit2


def test_unit_file_change_reloads_before_start(host):
    host.install()
    host.set_unit(active='inactive')
    unit2 = UNIT + '# v2\n'
    res = host.run(unit=unit2)
    assert changes(host, res) == ['wrote /etc/systemd/system/lvs-netstate@.service',
                                  'started lvs-netstate@realserver.service']
    # The fake start refuses a unit file changed since the last daemon-reload: it was reloaded first.
    assert host.log() == ['systemctl daemon-reload', SHOW, 'systemctl start ' + UNIT_NAME, APPLY, APPLY]


def test_script_change_is_written_and_applied_without_reload(host):
    host.install()
    script2 = FAKE_SCRIPT + '# v2\n'
    res = host.run(script=script2)
    assert changes(host, res) == ['wrote /usr/local/sbin/lvs-netstate']
    assert host.log() == [SHOW, APPLY]
    assert host.read(SCRIPT) == script2 and host.mode(SCRIPT) == 0o755


@pytest.mark.parametrize('path, wrong, right', [
    (SCRIPT, 0o644, 0o755),
    (UNIT_FILE, 0o600, 0o644),
    (DATA_FILE, 0o666, 0o644),
])
def test_mode_only_change_rewrites_file_with_its_mode(host, path, wrong, right):
    host.install()
    host.path(path).chmod(wrong)
    before = host.read(path)
    res = host.run()
    assert res['changed'] is True
    assert changes(host, res) == ['wrote ' + path]
    assert host.mode(path) == right
    assert host.read(path) == before
    assert host.log() == (['systemctl daemon-reload'] if path == UNIT_FILE else []) + [SHOW, APPLY]
    assert host.files() == [DATA_FILE, UNIT_FILE, SCRIPT]


def test_unit_stopped_by_hand_is_started_again(host):
    host.install()
    host.set_unit(active='inactive')
    res = host.run()
    assert res['changed'] is True
    assert res['changes'] == ['started ' + UNIT_NAME]
    # The unit's start applies, and so does the module (which alone removes stale items).
    assert host.log() == [SHOW, 'systemctl start ' + UNIT_NAME, APPLY, APPLY]
    assert host.unit_state() == ('enabled', 'active')


def test_failed_unit_is_started_again(host):
    host.install()
    host.set_unit(active='failed')
    res = host.run()
    assert res['changes'] == ['started ' + UNIT_NAME]
    assert host.log() == [SHOW, 'systemctl start ' + UNIT_NAME, APPLY, APPLY]


def test_unit_disabled_by_hand_is_enabled_and_applied(host):
    host.install()
    host.set_unit(enabled='disabled')
    host.says('apply')
    res = host.run()
    assert res['changes'] == ['enabled ' + UNIT_NAME]
    assert host.log() == [SHOW, 'systemctl enable ' + UNIT_NAME, APPLY]
    assert host.unit_state() == ('enabled', 'active')


def test_apply_failure_fails_naming_command_and_stderr(host):
    host.install()
    host.says('apply', '+ address lo 192.0.2.101/32', rc=3,
              err='RTNETLINK answers: Operation not permitted\nlvs-netstate: apply: stopped by the failure above\n')
    res = host.run(data=DATA2, expect_fail=True)
    assert host.norm(res['msg']) == (
        '/usr/local/sbin/lvs-netstate apply /etc/lvs-cluster/realserver.conf failed (status 3): '
        'RTNETLINK answers: Operation not permitted\nlvs-netstate: apply: stopped by the failure above')
    assert res['rc'] == 3
    assert res['stdout'] == '+ address lo 192.0.2.101/32\n'
    assert changes(host, res) == ['wrote /etc/lvs-cluster/realserver.conf']
    assert host.log() == [SHOW, APPLY]


def test_start_failure_fails_naming_systemctl(host):
    host.says('apply', rc=3, err='lvs-netstate: ip: not found\n')
    res = host.run(expect_fail=True)
    assert host.norm(res['msg']).startswith('%s start %s failed (status 1): Job for %s failed'
                                            % (host.fake / 'systemctl', UNIT_NAME, UNIT_NAME))
    assert changes(host, res)[-1] == 'enabled ' + UNIT_NAME
    assert host.unit_state() == ('enabled', 'failed')


@pytest.mark.parametrize('missing', ['script', 'unit', 'data'])
def test_present_without_content_fails_naming_the_option(host, missing):
    res = host.run(expect_fail=True, **{missing: None})
    assert res['msg'] == '%s is required with state=present' % missing
    assert host.files() == [] and host.log() == []


def test_write_sets_mode_before_first_byte_and_leaves_no_temp_file(host, monkeypatch):
    real_fdopen = os.fdopen
    seen = []

    def fdopen(fd, *a, **kw):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        assert os.fstat(fd).st_size == 0
        return real_fdopen(fd, *a, **kw)

    monkeypatch.setattr(os, 'fdopen', fdopen)
    host.run()
    assert seen == [0o755, 0o644, 0o644]
    assert sorted(os.listdir(host.path('/usr/local/sbin'))) == ['lvs-netstate']
    assert sorted(os.listdir(host.path('/etc/systemd/system'))) == ['lvs-netstate@.service']
    assert sorted(os.listdir(host.path(DATA_DIR))) == ['realserver.conf']


# ---------------------------------------------------------------------------------------------------------
# check mode

def test_check_mode_on_fresh_host_writes_nothing_and_asks_new_script(host):
    host.says('status', '+ sysctl net.ipv4.conf.all.arp_ignore 1', '+ address lo 192.0.2.100/32')
    res = host.run(check_mode=True)
    assert res['changed'] is True and res['stale'] is False
    assert changes(host, res) == [
        'created /etc/lvs-cluster',
        'wrote /usr/local/sbin/lvs-netstate',
        'wrote /etc/systemd/system/lvs-netstate@.service',
        'wrote /etc/lvs-cluster/realserver.conf',
        '+ sysctl net.ipv4.conf.all.arp_ignore 1',
        '+ address lo 192.0.2.100/32',
        'would enable ' + UNIT_NAME,
        'would start ' + UNIT_NAME,
    ]
    assert host.log() == [SHOW, CHECK_STATUS]
    assert host.seen_data('status') == DATA
    assert host.files() == []
    assert not host.path(DATA_DIR).exists()
    assert host.unit_state() == (None, None)
    assert os.listdir(host.path('/tmp')) == []  # the temporary copy is gone


def test_check_mode_without_changes_is_not_changed(host):
    host.install()
    res = host.run(check_mode=True)
    assert res == dict(res, changed=False, changes=[], stale=False)
    assert host.log() == [SHOW, CHECK_STATUS]
    assert os.listdir(host.path('/tmp')) == []


def test_check_mode_data_change_reports_status_lines_and_touches_nothing(host):
    host.install()
    files = dict((p, (host.read(p), host.mode(p))) for p in host.files())
    host.says('status', '+ address lo 192.0.2.101/32')
    script2 = FAKE_SCRIPT + '# v2\n'
    unit2 = UNIT + '# v2\n'
    res = host.run(check_mode=True, script=script2, unit=unit2, data=DATA2)
    assert res['changed'] is True
    assert changes(host, res) == [
        'wrote /usr/local/sbin/lvs-netstate',
        'wrote /etc/systemd/system/lvs-netstate@.service',
        'wrote /etc/lvs-cluster/realserver.conf',
        '+ address lo 192.0.2.101/32',
    ]
    # No daemon-reload, enable, start or apply; status from the new script with the new data.
    assert host.log() == [SHOW, CHECK_STATUS]
    assert host.seen_data('status') == DATA2
    assert dict((p, (host.read(p), host.mode(p))) for p in host.files()) == files


def test_check_mode_status_lines_alone_are_a_change(host):
    host.install()
    host.says('status', '~ sysctl net.ipv4.conf.all.arp_ignore 1')
    res = host.run(check_mode=True)
    assert res['changed'] is True
    assert res['changes'] == ['~ sysctl net.ipv4.conf.all.arp_ignore 1']


def test_check_mode_reports_unit_to_start(host):
    host.install()
    host.set_unit(active='inactive')
    res = host.run(check_mode=True)
    assert res['changed'] is True
    assert res['changes'] == ['would start ' + UNIT_NAME]
    assert host.log() == [SHOW, CHECK_STATUS]
    assert host.unit_state() == ('enabled', 'inactive')


def test_check_mode_reports_unit_to_enable(host):
    """A real run enables a disabled unit and says so: check mode must predict that change."""
    host.install()
    host.set_unit(enabled='disabled')
    res = host.run(check_mode=True)
    assert res['changed'] is True
    assert res['changes'] == ['would enable ' + UNIT_NAME]
    assert host.unit_state() == ('disabled', 'active')
    real = host.run()
    assert real['changed'] is True and real['changes'] == ['enabled ' + UNIT_NAME]


def test_check_mode_keep_stale_drops_removals_and_sets_stale(host):
    host.install(data=DATA2)
    host.says('status', '+ address lo 192.0.2.102/32', '- address lo 192.0.2.101/32')
    data3 = DATA + 'address lo 192.0.2.102/32\n'
    res = host.run(check_mode=True, keep_stale=True, data=data3)
    assert res['changed'] is True and res['stale'] is True
    assert changes(host, res) == ['wrote /etc/lvs-cluster/realserver.conf', '+ address lo 192.0.2.102/32']
    assert host.log() == [SHOW, CHECK_STATUS]


def test_check_mode_keep_stale_with_only_stale_items_is_not_changed(host):
    host.install()
    host.says('status', '- address lo 192.0.2.101/32')
    res = host.run(check_mode=True, keep_stale=True)
    assert res == dict(res, changed=False, changes=[], stale=True)


@pytest.mark.parametrize('rc', [2, 3])
def test_check_mode_status_that_cannot_run_warns_and_says_changed(host, rc):
    host.install()
    host.says('status', rc=rc, err='lvs-netstate: /usr/sbin/arptables-legacy: not found\n')
    res = host.run(check_mode=True)
    assert res['changed'] is True and res['stale'] is False
    assert changes(host, res) == ['would apply /etc/lvs-cluster/realserver.conf']
    assert [host.norm(w) for w in res['warnings']] == [
        'cannot tell what lvs-netstate would change: lvs-netstate status '
        '/tmp/lvs-netstate-check-*/realserver.conf: status %d: lvs-netstate: /usr/sbin/arptables-legacy: not found'
        % rc]
    assert os.listdir(host.path('/tmp')) == []


# ---------------------------------------------------------------------------------------------------------
# state=absent

def test_absent_disables_now_and_removes_data_file(host):
    host.install()
    res = host.run(state='absent', script=None, unit=None, data=None)
    assert res['changed'] is True and res['stale'] is False
    assert changes(host, res) == ['stopped and disabled lvs-netstate@realserver.service',
                                  'removed /etc/lvs-cluster/realserver.conf']
    # The script's stop first (checked), then the unit's (which finds nothing left to undo).
    assert host.log() == [SHOW, SCRIPT + ' stop ' + DATA_FILE, 'systemctl disable --now ' + UNIT_NAME,
                          SCRIPT + ' stop ' + DATA_FILE]
    # The script and the unit file stay (another instance may use them).
    assert host.files() == [UNIT_FILE, SCRIPT]
    assert host.unit_state() == ('disabled', 'inactive')
    assert 'diff' not in res


def test_absent_with_nothing_there_is_not_changed(host):
    res = host.run(state='absent', script=None, unit=None, data=None)
    assert res == dict(res, changed=False, changes=[], stale=False)
    assert host.log() == [SHOW]


def test_absent_twice_is_not_changed_the_second_time(host):
    host.install()
    host.run(state='absent')
    res = host.run(state='absent')
    assert res['changed'] is False
    assert host.log() == [SHOW]


def test_absent_with_stopped_unit_only_removes_data_file(host):
    host.install()
    host.run(state='absent')
    host.path(DATA_FILE).write_text(DATA)
    res = host.run(state='absent')
    assert res['changed'] is True
    assert host.log() == [SHOW]
    assert not host.path(DATA_FILE).exists()


def test_absent_check_mode_removes_nothing(host):
    host.install()
    res = host.run(state='absent', check_mode=True)
    assert res['changed'] is True
    assert changes(host, res) == ['stopped and disabled lvs-netstate@realserver.service',
                                  'removed /etc/lvs-cluster/realserver.conf']
    assert host.log() == [SHOW]
    assert host.files() == [DATA_FILE, UNIT_FILE, SCRIPT]
    assert host.unit_state() == ('enabled', 'active')


# ---------------------------------------------------------------------------------------------------------
# invocation and diff

def test_invocation_does_not_echo_script_or_unit(host):
    res = host.run(keep_stale=True)
    args = res['invocation']['module_args']
    assert args['script'] == '(lvs-netstate, not echoed)'
    assert args['unit'] == '(lvs-netstate@.service, not echoed)'
    assert args['data'] == DATA and args['instance'] == 'realserver' and args['keep_stale'] is True
    assert 'fake lvs-netstate' not in json.dumps(res)
    assert '[Service]' not in json.dumps(res)


def test_failure_does_not_echo_script_either(host, monkeypatch, capsys):
    """Through AnsibleModule's own fail_json, which adds the parameters as invocation unless given one."""
    host.install()
    host.says('apply', rc=3, err='boom\n')
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', REAL_FAIL_JSON)
    params = dict(instance='realserver', script=FAKE_SCRIPT, unit=UNIT, data=DATA2)
    with patch_module_args(params):
        with pytest.raises(SystemExit) as info:
            netstate_module.main()
    assert info.value.code == 1
    res = json.loads(capsys.readouterr().out)
    assert res['failed'] is True and res['msg'].endswith('failed (status 3): boom')
    assert res['invocation']['module_args']['script'] == '(lvs-netstate, not echoed)'
    assert 'fake lvs-netstate' not in json.dumps(res)
    assert '[Service]' not in json.dumps(res)


@pytest.mark.parametrize('check_mode', [False, True])
def test_diff_returns_data_file_before_and_after(host, check_mode):
    host.install()
    res = host.run(diff=True, check_mode=check_mode, data=DATA2)
    diff = dict(res['diff'], before_header=host.norm(res['diff']['before_header']),
                after_header=host.norm(res['diff']['after_header']))
    assert diff == dict(before=DATA, after=DATA2, before_header=DATA_FILE, after_header=DATA_FILE)
    assert host.read(DATA_FILE) == (DATA if check_mode else DATA2)


def test_diff_on_fresh_host_has_empty_before(host):
    res = host.run(diff=True, check_mode=True)
    assert res['diff']['before'] == '' and res['diff']['after'] == DATA
