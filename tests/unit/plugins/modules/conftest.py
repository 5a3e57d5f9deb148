# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process against FakeIpvsadm and return its result dict."""

from __future__ import annotations

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_host import Ipvsadm
from fake_ipvsadm import FakeIpvsadm


class ModuleExit(Exception):
    def __init__(self, result, failed):
        Exception.__init__(self, result.get('msg'))
        self.result = result
        self.failed = failed


@pytest.fixture
def kernel():
    return FakeIpvsadm()


class FakeStarted(object):
    """What Ipvsadm._run_in_thread() returns, for a listing the fake kernel answers.

    The fake runs when the result is collected (wait()), not in a thread, so kernel.calls keeps the
    order of the sequential reads: -S (run_command in the main thread) then -L (started before it,
    collected after it).
    """

    def __init__(self, kernel, argv, environ_update):
        self.kernel, self.argv, self.environ_update = kernel, argv, environ_update
        self.waited = False

    def wait(self):
        assert not self.waited, 'wait() called twice'
        self.waited = True
        return self.kernel.run(self.argv, environ_update=self.environ_update)


@pytest.fixture
def background(monkeypatch, kernel):
    """Every FakeStarted of a listing run beside run_command() (Ipvsadm._run_in_thread), in order."""
    started = []

    def start(self, argv, environ_update):
        started.append(FakeStarted(kernel, list(argv), environ_update))
        return started[-1]

    monkeypatch.setattr(Ipvsadm, '_run_in_thread', start)
    return started


@pytest.fixture
def run_module(monkeypatch, kernel, background):
    """run(main, args, ...) -> the module's result; its warnings (module.warn()) under 'warnings'
    when there are any, as Ansible returns them."""
    state = {'bin': '/usr/sbin/ipvsadm', 'warnings': []}

    def with_warnings(kw):
        if state['warnings']:
            kw.setdefault('warnings', list(state['warnings']))
        return kw

    def exit_json(self, **kw):
        raise ModuleExit(with_warnings(kw), failed=False)

    def fail_json(self, msg, **kw):
        kw['msg'] = msg
        raise ModuleExit(with_warnings(kw), failed=True)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, warning, **kw: state['warnings'].append(warning))
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, args, **kw: kernel.run(args, **kw))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **kw: state['bin'])

    def run(main, args, check_mode=False, diff=False, expect_fail=False, ipvsadm_path='/usr/sbin/ipvsadm',
            ip_vs_loaded=True):
        state['bin'] = ipvsadm_path
        # this machine's kernel has no ip_vs: the path checked stands for it
        monkeypatch.setattr(Ipvsadm, 'PROC_IP_VS', '/' if ip_vs_loaded else '/nonexistent/proc/net/ip_vs')
        del state['warnings'][:]
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(ModuleExit) as info:
                main()
        assert info.value.failed == expect_fail, info.value.result
        return info.value.result

    return run
