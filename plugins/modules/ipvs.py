#!/usr/bin/python
# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ipvs
short_description: Set the whole IPVS (LVS) virtual server table in one call
version_added: 0.1.0
description:
  - Declares the desired virtual services and their complete sets of real servers, compares them with
    the live table (C(ipvsadm -S -n) and C(ipvsadm -L -n --thresholds)) and applies only the difference
    with a single C(ipvsadm -R) run.
  - Services and real servers whose only changes are scheduler, flags or persistence (service), or
    weight, forwarding method or thresholds (real server) are edited in place (C(-E) / C(-e)), so
    established connections survive. A real server whose port changes is deleted and added.
  - Applying the same input twice issues no command the second time.
  - Input is validated completely before anything runs on the host; errors name the field,
    for example C(services[2].destinations[0].weight).
  - This module is the only part of the collection that runs ipvsadm.
author:
  - lvs.cluster contributors (@lvs-cluster)
requirements:
  - ipvsadm on the managed host (1.31 is the reference for the rule format)
  - a kernel with IPVS (C(ip_vs) module)
attributes:
  check_mode:
    support: full
    description:
      - Computes and returns the commands and resulting rules without changing anything.
      - On a host without ipvsadm (a package task earlier in the same run installs it when not in
        check mode) the live table is taken as empty, with a warning, instead of failing.
      - While the C(ip_vs) kernel module is not loaded, ipvsadm is not run (it would load it, with the kernel's
        default options rather than those a task of the same run would write) and the live table is taken as
        empty, with a warning.
  diff_mode:
    support: full
    description: Returns the table before and after as ipvsadm rule text.
  platform:
    support: full
    platforms: linux
    description: Linux with IPVS only.
options:
  services:
    description:
      - The virtual services. Each item's O(services[].destinations) is the complete set of its
        real servers; unlisted real servers are removed.
      - Services in the kernel that are not listed are kept unless O(purge=true).
    type: list
    elements: dict
    default: []
    suboptions:
      protocol:
        description: Protocol of an address/port service. Ignored when O(services[].fwmark) is set.
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      address:
        description: Virtual IP, IPv4 or IPv6. Required unless O(services[].fwmark) is set.
        type: str
      port:
        description: Virtual port, 1..65535. Required unless O(services[].fwmark) is set.
        type: int
      fwmark:
        description:
          - Firewall-mark service (C(ipvsadm -f)) instead of address/port, 1..4294967295.
          - O(services[].address) and O(services[].port) are then ignored, except that an IPv6
            address selects O(services[].family=inet6) when family is not given.
        type: int
      family:
        description:
          - Address family. Only matters for fwmark services (C(ipvsadm -f N -6)); for address
            services it must match the address.
          - Defaults to the family of O(services[].address), else C(inet).
        type: str
        choices: [inet, inet6]
      scheduler:
        description: Scheduling algorithm.
        type: str
        choices: [rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos]
        default: wlc
      scheduler_flags:
        description:
          - Scheduler flags (C(ipvsadm -b)). C(sh-*) need O(services[].scheduler=sh),
            C(mh-*) need O(services[].scheduler=mh); C(flag-1) equals C(sh-fallback)/C(mh-fallback)
            and C(flag-2) equals C(sh-port)/C(mh-port).
        type: list
        elements: str
        choices: [sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3]
        default: []
      persistence:
        description: Persistence timeout in seconds (1..2678400); null or 0 means not persistent.
        type: int
      persistence_netmask:
        description:
          - Persistence granularity, only with O(services[].persistence). IPv4 dotted netmask (or a
            prefix length), IPv6 prefix length 1..128. The default 255.255.255.255 / 128 is the same
            as not setting it.
        type: str
      state:
        description: C(absent) deletes this service (with its real servers) if it exists.
        type: str
        choices: [present, absent]
        default: present
      destinations:
        description: The complete set of real servers of this service.
        type: list
        elements: dict
        default: []
        suboptions:
          address:
            description: Real server address, same family as the service.
            type: str
            required: true
          port:
            description:
              - Real server port. Defaults to the service port (fwmark services - 0, meaning the
                port of the request).
              - Must equal the service port for C(dr) and C(tun) forwarding of address/port services.
            type: int
          forwarding:
            description: Forwarding method - C(nat) (C(-m)), C(dr) (C(-g)) or C(tun) (C(-i), ipip).
            type: str
            choices: [nat, dr, tun]
            default: dr
          weight:
            description: Weight 0..65535; 0 quiesces the server.
            type: int
            default: 1
          upper_threshold:
            description: Upper connection threshold (C(-x)), 0 = none.
            type: int
            default: 0
          lower_threshold:
            description: Lower connection threshold (C(-y)), 0 = none.
            type: int
            default: 0
  purge:
    description: Also delete services present in the kernel but not listed in O(services).
    type: bool
    default: false
  drain_timeout:
    description:
      - Seconds. When greater than 0, real servers being removed (including those of removed services)
        are first set to weight 0 together with all other changes, and deleted once their active
        connections reach 0 or this timeout passes. Check mode does not wait.
    type: int
    default: 0
  save_path:
    description:
      - After applying, write the resulting table to this file (for example C(/etc/ipvsadm.rules)),
        atomically and only when its content differs. The text is C(ipvsadm -S -n) format plus the
        C(-x)/C(-y) thresholds, which C(ipvsadm -S) leaves out; C(ipvsadm -R) reads it back.
      - The file is created with O(save_mode) before anything is written to it, and keeps that mode
        when it is replaced; its owner, group and SELinux context are kept.
    type: path
  save_mode:
    description:
      - Permissions of O(save_path), as for the C(mode) of M(ansible.builtin.file) - an octal
        string such as C('0600') (quote it), an integer, or a symbolic mode such as C(u=rw,g=r,o=)
        (applied to the mode of the existing file, or to no permissions for a new one).
      - The default lets only root read the rules, which is all that restores them at boot.
      - An existing file with the right content but another mode gets this mode, which counts as
        a change.
    type: raw
    default: '0600'
    version_added: 0.3.0
  drained_dir:
    description:
      - A directory of real servers held out of rotation - each file in it is named after a real server's
        address (canonical form, for example C(192.0.2.11) or C(2001:db8::11)). Those real servers get
        weight 0 in every service, whatever O(services) says, so they take no new connection while their
        established ones go on, and stay so across runs until their file is removed.
      - The drain and restore tasks of the C(lvs.cluster.realserver) role write and remove these files.
        A missing directory holds nobody out; a file name that is not an address is ignored with a warning.
    type: path
    version_added: 0.3.0
  only_weights_of:
    description:
      - Real server addresses. When given, the module changes nothing in the table but the weights of these real
        servers, in the services where the table already has them and O(services) declares them (with
        O(drained_dir) applied), so a rolling maintenance never adds, removes or changes anything else. O(purge)
        and O(drain_timeout) deletes do not apply.
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  wait_idle:
    description:
      - Real server addresses. After applying, wait until none of them has an active connection in any
        service, or O(drain_timeout) seconds. Check mode does not wait.
    type: list
    elements: str
    default: []
    version_added: 0.3.0
notes:
  - C(ipvsadm -R) does not stop at a line the kernel rejects, so the module fails on any error output
    and re-reads the table after applying to check it matches - C(ipvsadm -S -n) always,
    C(ipvsadm -L -n --thresholds) only when a line set thresholds other than the live ones.
  - Services that C(ipvsadm -S -n) prints exactly as expected (line for line) are not parsed, so an
    unchanged table of thousands of real servers costs little more than listing it; any other
    output is parsed and compared in full.
  - A real server whose address is local to the director is shown by the kernel as direct routing;
    declare it with O(services[].destinations[].forwarding=dr).
  - Tunnel options other than ipip (C(--tun-type gue|gre)) are not managed; such real servers are reset
    to ipip.
seealso:
  - module: lvs.cluster.ipvs_info
"""

EXAMPLES = r"""
- name: Two services, DR and NAT
  lvs.cluster.ipvs:
    services:
      - address: 192.0.2.100
        port: 80
        scheduler: wrr
        persistence: 300
        persistence_netmask: 255.255.255.0
        destinations:
          - address: 198.51.100.11
            weight: 2
          - address: 198.51.100.12
      - protocol: udp
        address: 2001:db8::53
        port: 53
        scheduler: sh
        scheduler_flags: [sh-fallback, sh-port]
        destinations:
          - address: 2001:db8::11
            port: 5353
            forwarding: nat
    purge: true
    drain_timeout: 30
    save_path: /etc/ipvsadm.rules
    save_mode: '0600'

- name: Firewall-mark service over IPv6
  lvs.cluster.ipvs:
    services:
      - fwmark: 1
        family: inet6
        scheduler: rr
        destinations:
          - address: 2001:db8::11
            forwarding: tun

- name: Remove one service, leave the rest alone
  lvs.cluster.ipvs:
    services:
      - address: 192.0.2.100
        port: 80
        state: absent

- name: Hold 198.51.100.12 out of rotation and wait until its connections have ended (at most 120 s)
  lvs.cluster.ipvs:
    services: "{{ lvs_virtual_services | lvs.cluster.virtual_services(hostvars, groups) | lvs.cluster.ipvs_services }}"
    drained_dir: /var/lib/lvs-cluster/drained   # holds a file named 198.51.100.12
    wait_idle: [198.51.100.12]
    drain_timeout: 120

- name: Feed it from the cluster data model
  lvs.cluster.ipvs:
    services: "{{ lvs_virtual_services | lvs.cluster.virtual_services(hostvars, groups) | lvs.cluster.ipvs_services }}"
    purge: true
"""

RETURN = r"""
commands:
  description: The C(ipvsadm -R) lines applied (or, in check mode, that would be), in order.
  returned: always
  type: list
  elements: str
  sample:
    - -a -t 192.0.2.100:80 -r 198.51.100.13:80 -g -w 1
    - -e -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 3
rules:
  description: The resulting table as C(ipvsadm -S -n) text (plus C(-x)/C(-y) thresholds when set).
  returned: always
  type: str
  sample: |
    -A -t 192.0.2.100:80 -s wrr -p 300 -M 255.255.255.0
    -a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 3
saved:
  description:
    - Whether O(save_path) was (or in check mode would be) rewritten, or given O(save_mode) (its content
      was right but its mode was not).
  returned: always
  type: bool
  sample: false
drained:
  description: Real servers that were drained before deletion, and those still busy when the timeout passed.
  returned: when O(drain_timeout) > 0
  type: dict
  sample: {"waited_for": ["-t 192.0.2.100:80 -r 198.51.100.12:80"], "still_active": []}
held_out:
  description: The real servers held at weight 0 by a file in O(drained_dir) that are in the table.
  returned: always
  type: list
  elements: str
  sample: ["198.51.100.12"]
idle:
  description: The real server entries O(wait_idle) waited for, and those still busy when the timeout passed.
  returned: when O(wait_idle) is not empty
  type: dict
  sample: {"waited_for": ["-t 192.0.2.100:80 -r 198.51.100.12:80"], "still_active": []}
"""

import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import differences, plan, render, weights_only
from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_host import Ipvsadm
from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_spec import (IpvsInputError, desired_table, hold_out,
                                                                            real_server_addresses)


class _NoFile(object):
    """What _symbolic_mode_to_octal() needs of a stat result, for a file not there yet."""
    st_mode = stat.S_IFREG


def file_mode(module, value, path):
    """save_mode -> permission bits, read like the mode of ansible.builtin.file: an int as it is, text
    as octal digits or else as a symbolic mode applied to the mode of the file at path (none: 0).
    Fails the module, naming save_mode, when it is neither."""
    mode = 0o600 if value is None else value  # null: the default
    if isinstance(mode, bool) or not isinstance(mode, int):
        text = to_native(mode).strip()
        try:
            mode = int(text, 8)
        except ValueError:
            if not text:
                module.fail_json(msg='save_mode: an empty string is not a mode', field='save_mode')
            try:
                path_stat = os.stat(path) if path else _NoFile()
            except FileNotFoundError:
                path_stat = _NoFile()
            try:
                mode = module._symbolic_mode_to_octal(path_stat, text)  # pylint: disable=protected-access
            except Exception:  # pylint: disable=broad-except  # ValueError mostly; any means "not a mode"
                module.fail_json(msg='save_mode: %r is not an octal or symbolic mode' % (value,), field='save_mode')
    if mode < 0 or mode != stat.S_IMODE(mode):
        module.fail_json(msg='save_mode: %r has more than permission bits (07777)' % (value,), field='save_mode')
    return mode


def saved_file(path):
    """(content, permission bits) of the file at path; (None, None) when there is none."""
    try:
        with open(path, 'rb') as f:
            return f.read(), stat.S_IMODE(os.fstat(f.fileno()).st_mode)
    except FileNotFoundError:
        return None, None


def write_atomic(module, path, text, mode):
    """Replace path by a file holding text that has `mode` from its first byte on.

    A temporary file in the same directory (mkstemp: 0600 and empty) gets the owner and group of the
    file it replaces and then `mode`, before anything is written; it is renamed over path. This is
    AnsibleModule.atomic_move() without what it does to the mode (an existing file's mode copied,
    a new file's taken from the umask, both after the content is in place); the SELinux context
    is kept the way it keeps it.
    """
    path = os.path.abspath(path)
    try:
        old = os.stat(path)
    except FileNotFoundError:
        old = None
    context = None
    if module.selinux_enabled():
        context = module.selinux_context(path) if old is not None else module.selinux_default_context(path)
    fd, tmp = tempfile.mkstemp(prefix='.ipvsadm-', dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            if old is not None and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(fd, old.st_uid, old.st_gid)  # before fchmod: chown clears set-id bits
                except PermissionError:
                    pass  # not root: the file becomes ours, as with atomic_move()
            os.fchmod(fd, mode)
            f.write(to_bytes(text))
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if context is not None:
        module.set_context_if_different(path, context, False)


def waited(keys, busy):
    """The `drained` / `idle` result: the (service id, real server id) entries waited for, and those still busy."""
    return dict(waited_for=['%s -r %s' % k for k in keys], still_active=['%s -r %s' % k for k in busy])


def held_out_addresses(module, path):
    """The canonical addresses named by the files in drained_dir (none when it does not exist)."""
    if not path:
        return set()
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return set()
    except OSError as e:
        module.fail_json(msg='drained_dir: cannot read %s: %s' % (path, e), field='drained_dir')
    held = set()
    for name in sorted(names):
        try:
            held.update(real_server_addresses([name], 'drained_dir'))
        except IpvsInputError:
            module.warn('drained_dir: ignored %s, whose name is not a real server address' % os.path.join(path, name))
    return held


_NOT_TAKEN = object()


class IpvsModule(AnsibleModule):
    """AnsibleModule that leaves a `services` list of dicts to desired_table() alone.

    Ansible's own handling of it would only cost time (11,000 rules: about a fifth of main()):
    its argument validation deep-copies every parameter, and its type check passes a list of dicts
    unchanged (`services` has no suboptions: desired_table() checks every field, naming it). So such a
    list is taken out of the parameters before Ansible validates them and put back after; any other
    value (a string, null, an item that is not a dict) stays in and gets Ansible's conversion and errors.
    """

    def __init__(self, **kwargs):
        self._taken = _NOT_TAKEN
        super().__init__(**kwargs)
        self._give_back()

    def _load_params(self):
        super()._load_params()
        services = self.params.get('services')
        if isinstance(services, list) and all(isinstance(item, dict) for item in services):
            self._taken = self.params.pop('services')

    def _give_back(self):
        if self._taken is not _NOT_TAKEN:
            self.params['services'], self._taken = self._taken, _NOT_TAKEN

    def _log_invocation(self):
        if self._taken is not _NOT_TAKEN:  # by number, as the result's `invocation` (params holds the default [] here)
            self.params['services'] = '%d service(s), not logged' % len(self._taken)
        super()._log_invocation()

    def fail_json(self, msg, **kwargs):
        self._give_back()  # a failed validation echoes the services as given, as before
        super().fail_json(msg, **kwargs)


def main():
    module = IpvsModule(
        argument_spec=dict(
            # Items are validated by ipvs_spec so errors can name services[i].destinations[j].field.
            services=dict(type='list', elements='dict', default=[]),
            purge=dict(type='bool', default=False),
            drain_timeout=dict(type='int', default=0),
            save_path=dict(type='path'),
            save_mode=dict(type='raw', default='0600'),
            drained_dir=dict(type='path'),
            wait_idle=dict(type='list', elements='str', default=[]),
            only_weights_of=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p['drain_timeout'] < 0:
        module.fail_json(msg='drain_timeout: %d must be >= 0' % p['drain_timeout'])
    try:
        desired, absent = desired_table(p['services'])
        wait_for = set(real_server_addresses(p['wait_idle'], 'wait_idle'))
        weights_of = set(real_server_addresses(p['only_weights_of'], 'only_weights_of'))
    except IpvsInputError as e:
        module.fail_json(msg=to_native(e), field=e.path)
    held = hold_out(desired, held_out_addresses(module, p['drained_dir']))
    save_mode = file_mode(module, p['save_mode'], p['save_path'])

    ipvsadm = Ipvsadm(module)  # fails without ipvsadm, except in check mode
    if not ipvsadm.installed:
        module.warn('ipvsadm is not installed yet, so check mode takes the live IPVS table as empty '
                    '(a task earlier in this run would install it)')
    elif not ipvsadm.loaded:
        module.warn('the ip_vs kernel module is not loaded yet, so check mode takes the live IPVS table as empty '
                    '(ipvsadm is not run: it would load ip_vs without the options this run would write)')
    # Services that -S prints exactly as desired are taken as they are, unparsed (a no-op costs
    # little more than the two listings), and their ids are in `same`; anything else is parsed and
    # diffed in full.
    if weights_of:
        # Everything parsed (no fast path): the desired table is the live one with those weights changed.
        current, thresholds, same = ipvsadm.read()
        todo = plan(current, weights_only(current, desired, weights_of))
    else:
        current, thresholds, same = ipvsadm.read(expected=desired)
        todo = plan(current, desired, absent, purge=p['purge'], drain=p['drain_timeout'] > 0, same=same)
    result = dict(changed=bool(todo.commands), commands=todo.commands, saved=False, held_out=sorted(held))

    if todo.commands and not module.check_mode:
        ipvsadm.restore(todo.first)
        if todo.last:
            busy = ipvsadm.wait_idle(todo.draining, p['drain_timeout'])
            result['drained'] = waited(todo.draining, busy)
            ipvsadm.restore(todo.last)
        # Confirm the kernel took every line (-R goes on after an error): -S must print what was
        # planned; the thresholds listing is only read again when a line set other thresholds.
        live, _thresholds, same = ipvsadm.read(expected=todo.after,
                                               thresholds=None if todo.thresholds_changed else thresholds)
        wrong = differences(todo.after, live, same=same)
        if wrong:
            module.fail_json(msg='after ipvsadm -R the table differs from the desired state: %s'
                                 % '; '.join(wrong), commands=todo.commands, rules=render(live))
        rules = render(live)
    else:
        rules = render(todo.after)
        if todo.draining:
            result['drained'] = waited(todo.draining, [])

    if wait_for:
        keys = [(sid, did) for sid, svc in sorted(todo.after.items()) for did, dest in sorted(svc['destinations'].items())
                if dest['address'] in wait_for]
        busy = [] if module.check_mode else ipvsadm.wait_idle(keys, p['drain_timeout'])
        result['idle'] = waited(keys, busy)

    if p['save_path']:
        content, mode = saved_file(p['save_path'])
        rewrite = content != to_bytes(rules)
        if rewrite or mode != save_mode:
            result['saved'] = result['changed'] = True
            if not module.check_mode:
                if rewrite:
                    write_atomic(module, p['save_path'], rules, save_mode)
                else:
                    os.chmod(p['save_path'], save_mode)

    result['rules'] = rules
    if module._diff:
        result['diff'] = dict(before=render(current), after=rules)
    # Ansible echoes the arguments back as `invocation`; for a big table that doubles the result and the
    # time spent encoding and scanning it. Echo everything but the services themselves.
    result['invocation'] = dict(module_args=dict(p, services='%d service(s), not echoed' % len(p['services'])))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
