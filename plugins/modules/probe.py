#!/usr/bin/python
# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: probe
short_description: Read in one module run what a role's tasks would otherwise check one module run each
version_added: 0.3.0
description:
  - Reads the status of packages, whether files hold the wanted content, line, mode and owner, and whether systemd
    units are enabled and active. Changes nothing.
  - The roles run it once before the tasks that install packages, write files and start units, and skip each of
    those tasks whose state already matches. Every such task costs one or two module runs even when it changes
    nothing; on a cluster that is already as declared, this one run replaces them.
  - It only ever answers C(matches=true) when the file is a regular file holding exactly what is wanted;
    anything it cannot read or compare reads as not matching, so the task that it would skip runs as usual.
author:
  - lvs.cluster contributors (@lvs-cluster)
requirements:
  - dpkg-query (for O(packages); without it RV(packages) is empty), systemctl (for O(units))
attributes:
  check_mode:
    support: full
    description: Reads only; the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  platform:
    support: full
    platforms: linux
    description: Linux; O(units) with systemd, O(packages) with dpkg.
options:
  packages:
    description: Package names whose dpkg status to read.
    type: list
    elements: str
    default: []
  files:
    description: Files to compare with what a task would write.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      state:
        description:
          - V(file) (a regular file), V(directory), or V(absent) (nothing at the path; it matches when nothing is there).
        type: str
        choices: [file, directory, absent]
        default: file
      checksum:
        description: SHA-1 of the whole content wanted (as the template and copy modules compute it).
        type: str
      regexp:
        description: With O(files[].line), as M(ansible.builtin.lineinfile) uses it.
        type: str
      line:
        description:
          - The last line that matches O(files[].regexp) must be this one, with its newline, as
            M(ansible.builtin.lineinfile) would leave it.
        type: str
      search:
        description:
          - A regular expression that must find something in the content (as C(grep) would, line by line), for
            example a mark that says which role wrote the file.
        type: str
        version_added: 0.3.0
      mode:
        description: Octal permissions wanted, for example V(0644).
        type: str
      owner:
        description: Owner's name wanted.
        type: str
      group:
        description: Group's name wanted.
        type: str
  units:
    description: systemd units (or init scripts that systemd runs) whose enabled and active states to read.
    type: list
    elements: str
    default: []
seealso:
  - module: ansible.builtin.stat
  - module: ansible.builtin.package_facts
"""

EXAMPLES = r"""
- name: Read what the tasks below would check
  lvs.cluster.probe:
    packages: [nginx]
    files:
      - path: /etc/nginx/conf.d/lvs-cluster.conf
        checksum: "{{ lookup('ansible.builtin.template', 'nginx-site.conf.j2') | hash('sha1') }}"
        mode: "0644"
        owner: root
        group: root
    units: [nginx]
  register: __web_probe

- name: Write the site only when it differs
  ansible.builtin.template:
    src: nginx-site.conf.j2
    dest: /etc/nginx/conf.d/lvs-cluster.conf
    owner: root
    group: root
    mode: "0644"
  when: "'/etc/nginx/conf.d/lvs-cluster.conf' not in __web_probe.matching"
"""

RETURN = r"""
packages:
  description: Each package's dpkg status (V(installed), V(config-files), ...); V(unknown) when dpkg has no record of it.
  returned: always
  type: dict
  sample: {nginx: installed}
files:
  description:
    - Per path, whether something exists there, whether it matches everything asked, and its C(type) (without
      following a link) V(file), V(directory), V(link), V(other), or V(absent).
  returned: always
  type: dict
  sample: {/etc/modprobe.d/lvs-cluster-ip_vs.conf: {exists: true, matches: true, type: file}}
matching:
  description: The paths of O(files) that match everything asked, in the order given (what a task tests before it skips).
  returned: always
  type: list
  elements: str
  sample: [/etc/modprobe.d/lvs-cluster-ip_vs.conf]
units:
  description: Per unit, the output of C(systemctl is-enabled) and C(systemctl is-active).
  returned: always
  type: dict
  sample: {nginx: {enabled: enabled, active: active}}
"""

import grp
import hashlib
import io
import os
import pwd
import re
import stat

from ansible.module_utils.basic import AnsibleModule

C_LOCALE = {'LC_ALL': 'C', 'LANG': 'C'}


def read_packages(module, names):
    """dpkg's status of each name; {} without dpkg-query."""
    if not names:
        return {}
    dpkg_query = module.get_bin_path('dpkg-query')
    if not dpkg_query:
        return {}
    # rc 1: dpkg knows nothing of one of them
    rc, out, err = module.run_command([dpkg_query, '--show', '--showformat', '${Package} ${db:Status-Status}\n', '--']
                                      + list(names), environ_update=C_LOCALE)
    if rc > 1:
        module.fail_json(msg='dpkg-query failed: %s' % err.strip(), rc=rc)
    status = dict.fromkeys(names, 'unknown')
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] in status:
            status[fields[0]] = fields[1]
    return status


def file_type(path):
    """What is at path, without following a link: file, directory, link, other or absent."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return 'absent'
    for kind, test in (('file', stat.S_ISREG), ('directory', stat.S_ISDIR), ('link', stat.S_ISLNK)):
        if test(mode):
            return kind
    return 'other'


def file_matches(spec):
    """(exists, matches) of one file spec; anything unreadable reads as not matching."""
    path = spec['path']
    try:
        st = os.lstat(path)
    except OSError:
        return False, spec.get('state') == 'absent'
    if spec.get('state') == 'absent':
        return True, False
    if spec.get('state') == 'directory':
        if not stat.S_ISDIR(st.st_mode):
            return True, False
    elif not stat.S_ISREG(st.st_mode):
        return True, False
    try:
        if spec.get('mode') is not None and '%04o' % stat.S_IMODE(st.st_mode) != spec['mode'].zfill(4):
            return True, False
        if spec.get('owner') is not None and pwd.getpwuid(st.st_uid).pw_name != spec['owner']:
            return True, False
        if spec.get('group') is not None and grp.getgrgid(st.st_gid).gr_name != spec['group']:
            return True, False
        if spec.get('checksum') is None and spec.get('line') is None and spec.get('search') is None:
            return True, True
        with open(path, 'rb') as f:
            content = f.read()
    except (OSError, KeyError, ValueError):
        return True, False
    if spec.get('checksum') is not None and hashlib.sha1(content).hexdigest() != spec['checksum']:
        return True, False
    if spec.get('line') is not None and not last_match_is_line(content, spec.get('regexp'), spec['line']):
        return True, False
    if spec.get('search') is not None and not found(content, spec['search']):
        return True, False
    return True, True


def found(content, regexp):
    """Whether REGEXP finds something in CONTENT, line by line (on bytes, as grep does); a bad one finds nothing."""
    try:
        pattern = re.compile(regexp.encode('utf-8'))
    except re.error:
        return False
    return any(pattern.search(cur) for cur in content.splitlines())


def last_match_is_line(content, regexp, line):
    """Whether ansible.builtin.lineinfile (state=present) would leave CONTENT as it is: as lineinfile does, on bytes,
    in lines split after each newline, the last one that REGEXP finds (or equal to LINE, without REGEXP) must be LINE
    followed by the newline lineinfile writes."""
    wanted = line.encode('utf-8') + os.linesep.encode()
    try:
        pattern = re.compile(regexp.encode('utf-8')) if regexp else None
    except re.error:
        return False
    found = [cur for cur in io.BytesIO(content).readlines()
             if (pattern.search(cur) if pattern else cur.rstrip(b'\r\n') == wanted.rstrip(b'\r\n'))]
    return bool(found) and found[-1] == wanted


def read_unit(module, systemctl, name):
    state = {}
    for what, verb in (('enabled', 'is-enabled'), ('active', 'is-active')):
        rc, out, err = module.run_command([systemctl, verb, name], environ_update=C_LOCALE)
        # a SysV script: systemctl says on stderr that it asks systemd-sysv-install; the answer is stdout's last line
        lines = out.strip().splitlines()
        state[what] = lines[-1].strip() if lines else 'unknown'
    return state


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type='list', elements='str', default=[]),
            files=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='path', required=True),
                state=dict(type='str', choices=['file', 'directory', 'absent'], default='file'),
                checksum=dict(type='str'),
                regexp=dict(type='str'),
                line=dict(type='str'),
                search=dict(type='str'),
                mode=dict(type='str'),
                owner=dict(type='str'),
                group=dict(type='str'),
            )),
            units=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    files = {}
    for spec in module.params['files']:
        exists, matches = file_matches(spec)
        files[spec['path']] = dict(exists=exists, matches=matches, type=file_type(spec['path']))
    units = {}
    if module.params['units']:
        systemctl = module.get_bin_path('systemctl')
        for name in module.params['units']:
            units[name] = read_unit(module, systemctl, name) if systemctl else dict(enabled='unknown', active='unknown')
    matching = [spec['path'] for spec in module.params['files'] if files[spec['path']]['matches']]
    module.exit_json(changed=False, packages=read_packages(module, module.params['packages']), files=files,
                     matching=matching, units=units)


if __name__ == '__main__':
    main()
