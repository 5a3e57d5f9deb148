#!/usr/bin/python
# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netstate
short_description: Hold an LVS host's network state with the lvs-netstate script, now and at boot
version_added: 0.3.0
description:
  - Installs the static script C(lvs-netstate), its template unit C(lvs-netstate@.service) and the data file
    C(/etc/lvs-cluster/<instance>.conf), makes sure the unit C(lvs-netstate@<instance>) is enabled and active,
    and applies the data file, all in one module run.
  - The script does the work (VIPs, ARP suppression, tunnel, default route, sysctls, kernel modules) and undoes
    what the data file no longer lists, writing back the sysctl values it found; see the script's header.
  - The roles C(lvs.cluster.director) and C(lvs.cluster.realserver) pass the script and the unit from the
    collection and a data file rendered from the validated data model.
author:
  - lvs.cluster contributors (@lvs-cluster)
requirements:
  - systemd, iproute2 on the managed host
attributes:
  check_mode:
    support: full
    description: Reports the files that would change and, with the script's C(status), what would be applied.
  diff_mode:
    support: full
    description: Returns the data file before and after.
  platform:
    support: full
    platforms: linux
    description: Linux with systemd.
options:
  instance:
    description: Instance name; also the data file's name.
    type: str
    required: true
    choices: [director, realserver]
  state:
    description:
      - V(present) installs and applies; V(absent) stops the unit (which undoes everything it set up), disables it
        and removes the data file. The script and the unit file stay (another instance may use them).
    type: str
    choices: [present, absent]
    default: present
  script:
    description: Content of the C(lvs-netstate) script. Required with O(state=present).
    type: str
  unit:
    description: Content of the C(lvs-netstate@.service) unit file. Required with O(state=present).
    type: str
  data:
    description: Content of the data file, already validated for the script's format. Required with O(state=present).
    type: str
  keep_stale:
    description:
      - Add and change only; keep what earlier data files set up and this one no longer lists (the directors may
        still send traffic there). A later run without it takes that away. RV(stale) says whether anything is kept.
    type: bool
    default: false
notes:
  - The unit's start applies the whole data file (as at boot); an active unit is applied with C(lvs-netstate apply).
seealso:
  - module: lvs.cluster.ipvs
"""

EXAMPLES = r"""
- name: Hold the real server's VIPs and ARP settings
  lvs.cluster.netstate:
    instance: realserver
    script: "{{ lookup('ansible.builtin.file', 'lvs-netstate') }}"
    unit: "{{ lookup('ansible.builtin.file', 'lvs-netstate@.service') }}"
    data: |
      sysctl net.ipv4.conf.all.arp_ignore 1
      sysctl net.ipv4.conf.all.arp_announce 2
      address lo 192.0.2.100/32
    keep_stale: true

- name: Stop being a real server
  lvs.cluster.netstate:
    instance: realserver
    state: absent
"""

RETURN = r"""
changes:
  description: What the script changed (or, in check mode, would change), one line each, and the files written.
  returned: always
  type: list
  elements: str
  sample: ["+ address lo 192.0.2.100/32", "wrote /etc/lvs-cluster/realserver.conf"]
stale:
  description: With O(keep_stale), whether items that the data file no longer lists are still held.
  returned: always
  type: bool
notes:
  description:
    - What the script cannot change, also given as warnings; today a kernel module parameter that differs from the
      data file's while the module is loaded (it takes effect when the module is next loaded).
  returned: always
  type: list
  elements: str
  sample: ["module ip_vs conn_tab_bits=12 (loaded so; conn_tab_bits=20 is used when ip_vs is next loaded)"]
"""

import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

SCRIPT = '/usr/local/sbin/lvs-netstate'
UNIT_FILE = '/etc/systemd/system/lvs-netstate@.service'
DATA_DIR = '/etc/lvs-cluster'
C_LOCALE = {'LC_ALL': 'C', 'LANG': 'C'}


def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        return None


def write(path, content, mode):
    """Replace path with content atomically, with mode set before the first byte is written."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix='.lvs-netstate-', dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'wb') as f:
            f.write(content)
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def invocation(params):
    """The module's arguments as returned. The script's and the unit's text are the same on every run: not echoed."""
    return dict(module_args=dict(params, script='(lvs-netstate, not echoed)',
                                 unit='(lvs-netstate@.service, not echoed)'))


class StatusUnavailable(Exception):
    pass


class Netstate(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.unit = 'lvs-netstate@%s.service' % self.p['instance']
        self.data_file = '%s/%s.conf' % (DATA_DIR, self.p['instance'])
        self.changes = []
        self.notes = []
        self.systemctl = module.get_bin_path('systemctl', required=True)

    def fail(self, msg, **kw):
        # fail_json() would otherwise return all the parameters as the invocation, the script's text included.
        self.module.fail_json(msg=msg, invocation=invocation(self.p), **kw)

    def run(self, argv, check_rc=True):
        rc, out, err = self.module.run_command(argv, environ_update=C_LOCALE)
        if check_rc and rc != 0:
            self.fail('%s failed (status %d): %s' % (' '.join(argv), rc, err.strip() or out.strip()),
                      changes=self.changes, rc=rc, stdout=out, stderr=err)
        return rc, out

    def unit_state(self):
        """(enabled, active) of the instance's unit."""
        _rc, out = self.run([self.systemctl, 'show', '--property=UnitFileState', '--property=ActiveState',
                             self.unit], check_rc=False)
        props = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
        return props.get('UnitFileState') == 'enabled', props.get('ActiveState') == 'active'

    def put(self, path, content, mode):
        """Write path when its content or mode differs; True when it did (or would)."""
        content = to_bytes(content)
        current = read(path)
        if current == content and (os.stat(path).st_mode & 0o7777) == mode:
            return False
        self.changes.append('wrote %s' % path)
        if not self.module.check_mode:
            write(path, content, mode)
        return True

    def lines(self, out):
        """The script's change lines; its "! " notes (a module parameter fixed at load time) become warnings."""
        changes = []
        for line in out.splitlines():
            if line.startswith('! '):
                if line[2:] not in self.notes:
                    self.notes.append(line[2:])
                    self.module.warn(line[2:])
            elif line.strip():
                changes.append(line)
        return changes

    def script_lines(self, argv):
        _rc, out = self.run(argv)
        return self.lines(out)

    def present(self):
        for key in ('script', 'unit', 'data'):
            if self.p[key] is None:
                self.fail('%s is required with state=present' % key)
        data = self.p['data'] if self.p['data'].endswith('\n') else self.p['data'] + '\n'
        before = read(self.data_file)
        if not os.path.isdir(DATA_DIR):
            self.changes.append('created %s' % DATA_DIR)
            if not self.module.check_mode:
                os.makedirs(DATA_DIR, 0o755)
        script_changed = self.put(SCRIPT, self.p['script'], 0o755)
        unit_changed = self.put(UNIT_FILE, self.p['unit'], 0o644)
        data_changed = self.put(self.data_file, data, 0o644)
        if self.module.check_mode:
            self.check_apply(data, script_changed)
        else:
            self.apply(unit_changed)
        self.diff = dict(before=(before or b'').decode('utf-8', 'replace'), after=data,
                         before_header=self.data_file, after_header=self.data_file)
        return data_changed

    def apply(self, unit_changed):
        if unit_changed:
            self.run([self.systemctl, 'daemon-reload'])
        enabled, active = self.unit_state()
        if not enabled:
            self.run([self.systemctl, 'enable', self.unit])
            self.changes.append('enabled %s' % self.unit)
        if not active:
            # The unit's start keeps stale items too (a failed unit may still hold some); at boot there are none.
            self.run([self.systemctl, 'start', self.unit])
            self.changes.append('started %s' % self.unit)
        argv = [SCRIPT, 'apply'] + (['--keep-stale'] if self.p['keep_stale'] else []) + [self.data_file]
        lines = self.script_lines(argv)
        # With --keep-stale the script prints what it keeps on "= " lines: no second run (status) to ask.
        kept = [line for line in lines if line.startswith('= ')]
        self.changes.extend(line for line in lines if not line.startswith('= '))
        if self.p['keep_stale']:
            self.stale = bool(kept)

    def status(self, script, data_file):
        """What `apply` (without --keep-stale) would still change."""
        rc, out, err = self.module.run_command(['/bin/sh', script, 'status', data_file], environ_update=C_LOCALE)
        if rc not in (0, 1):
            raise StatusUnavailable('lvs-netstate status %s: status %d: %s' % (data_file, rc, err.strip()))
        return self.lines(out)

    def check_apply(self, data, script_changed):
        """Check mode: ask the (new) script what applying the new data file would change."""
        enabled, active = self.unit_state()
        tmp = tempfile.mkdtemp(prefix='lvs-netstate-check-')
        try:
            script = os.path.join(tmp, 'lvs-netstate')
            data_file = os.path.join(tmp, os.path.basename(self.data_file))
            write(script, to_bytes(self.p['script']), 0o700)
            write(data_file, to_bytes(data), 0o600)
            pending = self.status(script, data_file)
        except StatusUnavailable as exc:
            # A fresh host may lack what the script reads with (arptables before its package is installed).
            self.module.warn('cannot tell what lvs-netstate would change: %s' % exc)
            pending = ['would apply %s' % self.data_file]
        finally:
            shutil.rmtree(tmp)
        if self.p['keep_stale']:
            kept = [line for line in pending if line.startswith('- ')]
            pending = [line for line in pending if not line.startswith('- ')]
            self.stale = bool(kept)
        self.changes.extend(pending)
        if not enabled:
            self.changes.append('would enable %s' % self.unit)
        if not active:
            self.changes.append('would start %s' % self.unit)

    def absent(self):
        enabled, active = self.unit_state()
        exists = os.path.exists(self.data_file)
        if enabled or active:
            self.changes.append('stopped and disabled %s' % self.unit)
            if not self.module.check_mode:
                # The script's own stop, checked: a failed unit would not run its ExecStop, and a failing one
                # would not make systemctl fail. Then the unit's stop has nothing left to undo.
                if os.path.exists(SCRIPT):
                    self.run([SCRIPT, 'stop', self.data_file])
                self.run([self.systemctl, 'disable', '--now', self.unit])
        if exists:
            self.changes.append('removed %s' % self.data_file)
            if not self.module.check_mode:
                os.unlink(self.data_file)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            instance=dict(type='str', required=True, choices=['director', 'realserver']),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            script=dict(type='str'),
            unit=dict(type='str'),
            data=dict(type='str'),
            keep_stale=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    netstate = Netstate(module)
    netstate.stale = False
    netstate.diff = None
    if module.params['state'] == 'present':
        netstate.present()
    else:
        netstate.absent()
    result = dict(changed=bool(netstate.changes), changes=netstate.changes, stale=netstate.stale, notes=netstate.notes)
    if module._diff and netstate.diff is not None:
        result['diff'] = netstate.diff
    result['invocation'] = invocation(module.params)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
