# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs.cluster.probe: real files under tmp_path; dpkg-query and systemctl answered by a table of argv -> output.

The roles skip a task when the probe says its state matches, so every case where the file is not exactly as wanted
must read as not matching (a wrong "matches" would leave a host unconverged; a wrong "does not match" costs a run).
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lvs.cluster.plugins.modules import probe

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
CONTENT = b'#\n# Ansible managed\n#\noptions ip_vs conn_tab_bits=16\n'
SHA1 = hashlib.sha1(CONTENT).hexdigest()
DPKG = ['/usr/bin/dpkg-query', '--show', '--showformat', '${Package} ${db:Status-Status}\n', '--']


class Exit(Exception):
    def __init__(self, result, failed):
        Exception.__init__(self, result.get('msg'))
        self.result, self.failed = result, failed


@pytest.fixture
def run(monkeypatch):
    """run(args, answers={argv tuple: (rc, out, err)}, bins=...) -> (result, failed, argvs run)."""
    seen = []

    def go(args, answers=None, bins=('dpkg-query', 'systemctl'), check_mode=False):
        answers = answers or {}

        def run_command(self, argv, **kw):
            assert kw.get('environ_update', {}).get('LC_ALL') == 'C'
            seen.append(list(argv))
            return answers.get(tuple(argv), (0, '', ''))

        def exit_json(self, **kw):
            raise Exit(kw, False)

        def fail_json(self, msg, **kw):
            raise Exit(dict(kw, msg=msg), True)

        monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
        monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
        monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                            lambda self, name, *a, **kw: '/usr/bin/' + name if name in bins else None)
        with patch_module_args(dict(args, _ansible_check_mode=check_mode)):
            with pytest.raises(Exit) as info:
                probe.main()
        return info.value.result, info.value.failed, seen

    return go


def wanted(path, **kw):
    spec = dict(path=str(path), checksum=SHA1, owner=OWNER, group=GROUP, mode='0644')
    spec.update(kw)
    return {k: v for k, v in spec.items() if v is not None}


def write(path, content=CONTENT, mode=0o644):
    path.write_bytes(content)
    os.chmod(path, mode)
    return path


def files(run, *specs):
    result, failed, dummy = run({'files': list(specs)})
    assert not failed and result['changed'] is False
    return result['files']


def test_a_file_as_wanted_matches(run, tmp_path):
    f = write(tmp_path / 'ip_vs.conf')
    assert files(run, wanted(f)) == {str(f): {'exists': True, 'matches': True, 'type': 'file'}}


@pytest.mark.parametrize('spoil', [
    lambda f: write(f, CONTENT + b'\n'),                  # content
    lambda f: write(f, mode=0o600),                        # mode
    lambda f: write(f, mode=0o4644),                       # a special bit
])
def test_a_file_that_differs_in_anything_does_not_match(run, tmp_path, spoil):
    f = tmp_path / 'ip_vs.conf'
    spoil(f)
    assert files(run, wanted(f)) == {str(f): {'exists': True, 'matches': False, 'type': 'file'}}


def test_another_owner_or_group_does_not_match(run, tmp_path):
    f = write(tmp_path / 'ip_vs.conf')
    other = [p.pw_name for p in pwd.getpwall() if p.pw_name != OWNER][0]
    other_group = [g.gr_name for g in grp.getgrall() if g.gr_name != GROUP][0]
    assert not files(run, wanted(f, owner=other))[str(f)]['matches']
    assert not files(run, wanted(f, group=other_group))[str(f)]['matches']


def test_a_missing_file_neither_exists_nor_matches(run, tmp_path):
    f = tmp_path / 'absent.conf'
    assert files(run, wanted(f)) == {str(f): {'exists': False, 'matches': False, 'type': 'absent'}}


def test_a_link_to_a_matching_file_does_not_match(run, tmp_path):
    # the template module replaces a link at its dest with a file: it must run
    target = write(tmp_path / 'real.conf')
    link = tmp_path / 'ip_vs.conf'
    link.symlink_to(target)
    assert files(run, wanted(link)) == {str(link): {'exists': True, 'matches': False, 'type': 'link'}}


def test_a_directory_where_a_file_is_wanted_does_not_match(run, tmp_path):
    d = tmp_path / 'ip_vs.conf'
    d.mkdir()
    assert files(run, wanted(d)) == {str(d): {'exists': True, 'matches': False, 'type': 'directory'}}


def test_a_directory_matches_by_kind_mode_and_owner(run, tmp_path):
    d = tmp_path / 'private'
    d.mkdir()
    os.chmod(d, 0o700)
    spec = dict(path=str(d), state='directory', owner=OWNER, group=GROUP, mode='0700')
    assert files(run, spec)[str(d)]['matches'] is True
    os.chmod(d, 0o755)
    assert files(run, spec)[str(d)]['matches'] is False
    f = write(tmp_path / 'file')
    assert files(run, dict(spec, path=str(f), mode='0644'))[str(f)]['matches'] is False


def test_absent_matches_only_when_nothing_is_there(run, tmp_path):
    f = write(tmp_path / 'vrrp-auth.conf')
    link = tmp_path / 'dangling'
    link.symlink_to(tmp_path / 'nowhere')
    gone = tmp_path / 'gone'
    found = files(run, *[dict(path=str(p), state='absent') for p in (f, link, gone)])
    assert found == {str(f): {'exists': True, 'matches': False, 'type': 'file'},
                     str(link): {'exists': True, 'matches': False, 'type': 'link'},
                     str(gone): {'exists': False, 'matches': True, 'type': 'absent'}}


@pytest.mark.parametrize('text, matches', [
    ('# defaults\nAUTO="true"\nSYNC=x\n', True),
    ('AUTO="false"\nAUTO="true"\n', True),    # lineinfile changes the last match only
    ('AUTO="true"\nAUTO="false"\n', False),
    ('#AUTO="true"\n', False),                # no line matches the regexp: lineinfile adds one
    ('AUTO="true" \n', False),
    ('AUTO="true"', False),                   # lineinfile adds the newline
    ('AUTO="true"\r\n', False),               # and rewrites a CRLF line
    ('#x\fAUTO="true"\n', False),            # a form feed is not a line break to lineinfile
])
def test_a_line_matches_when_the_last_line_the_regexp_finds_is_it(run, tmp_path, text, matches):
    f = write(tmp_path / 'ipvsadm', text.encode())
    spec = wanted(f, checksum=None, regexp='^AUTO=', line='AUTO="true"')
    assert files(run, spec)[str(f)] == {'exists': True, 'matches': matches, 'type': 'file'}


# The keepalived role's mark, found anywhere as grep would; a file without it, or not a regular file, is not the role's.
@pytest.mark.parametrize('text, matches', [
    ('#\n# Generated by lvs.cluster.keepalived from lvs_virtual_services\nglobal_defs {\n}\n', True),
    ('global_defs {\n}\n# Generated by lvs.cluster.keepalived', True),  # last line without a newline
    ('global_defs {\n}\n', False),
    ('# Generated by lvs-cluster.keepalived\n', False),                   # the dot is escaped
    ('', False),
])
def test_search_finds_a_mark_anywhere_in_the_content(run, tmp_path, text, matches):
    f = write(tmp_path / 'keepalived.conf', text.encode())
    spec = dict(path=str(f), search=r'Generated by lvs\.cluster\.keepalived')
    assert files(run, spec)[str(f)] == {'exists': True, 'matches': matches, 'type': 'file'}


def test_search_never_matches_what_is_not_a_regular_file(run, tmp_path):
    target = write(tmp_path / 'real.conf', b'# Generated by lvs.cluster.keepalived\n')
    link = tmp_path / 'link.conf'
    link.symlink_to(target)
    dangling = tmp_path / 'dangling.conf'
    dangling.symlink_to(tmp_path / 'nowhere')
    d = tmp_path / 'dir.conf'
    d.mkdir()
    spec = dict(search='Generated by')
    found = files(run, *[dict(spec, path=str(p)) for p in (target, link, dangling, d, tmp_path / 'none.conf')])
    assert [(v['exists'], v['matches'], v['type']) for v in found.values()] == [
        (True, True, 'file'), (True, False, 'link'), (True, False, 'link'), (True, False, 'directory'),
        (False, False, 'absent')]


def test_a_bad_search_expression_matches_nothing(run, tmp_path):
    f = write(tmp_path / 'keepalived.conf', b'anything\n')
    assert files(run, dict(path=str(f), search='('))[str(f)]['matches'] is False


def test_packages_read_in_one_dpkg_query(run):
    out = 'nginx installed\nnftables config-files\n'
    result, failed, seen = run({'packages': ['nginx', 'nftables', 'bird2']},
                               {tuple(DPKG + ['nginx', 'nftables', 'bird2']): (1, out, 'no packages found matching bird2')})
    assert not failed
    assert result['packages'] == {'nginx': 'installed', 'nftables': 'config-files', 'bird2': 'unknown'}
    assert seen == [DPKG + ['nginx', 'nftables', 'bird2']]


def test_a_failing_dpkg_query_fails_with_its_message(run):
    result, failed, dummy = run({'packages': ['nginx']}, {tuple(DPKG + ['nginx']): (2, '', 'dpkg: database locked\n')})
    assert failed and result['msg'] == 'dpkg-query failed: dpkg: database locked'


def test_without_dpkg_query_packages_are_left_to_the_package_tasks(run):
    result, failed, seen = run({'packages': ['nginx']}, bins=('systemctl',))
    assert not failed and result['packages'] == {} and seen == []


def test_units_read_with_is_enabled_and_is_active(run):
    answers = {
        ('/usr/bin/systemctl', 'is-enabled', 'nginx'): (0, 'enabled\n', ''),
        ('/usr/bin/systemctl', 'is-active', 'nginx'): (3, 'inactive\n', ''),
        # Debian 11/12's ipvsadm is an init script: systemctl says so on stderr and answers on stdout
        ('/usr/bin/systemctl', 'is-enabled', 'ipvsadm'): (
            0, 'enabled\n', 'ipvsadm.service is not a native service, redirecting to systemd-sysv-install.\n'),
        ('/usr/bin/systemctl', 'is-active', 'ipvsadm'): (0, 'active\n', ''),
        ('/usr/bin/systemctl', 'is-enabled', 'keepalived'): (1, '', 'Failed to get unit file state: No such file\n'),
        ('/usr/bin/systemctl', 'is-active', 'keepalived'): (4, 'inactive\n', ''),
    }
    result, failed, dummy = run({'units': ['nginx', 'ipvsadm', 'keepalived']}, answers)
    assert not failed
    assert result['units'] == {'nginx': {'enabled': 'enabled', 'active': 'inactive'},
                               'ipvsadm': {'enabled': 'enabled', 'active': 'active'},
                               'keepalived': {'enabled': 'unknown', 'active': 'inactive'}}


def test_check_mode_reads_the_same_and_changes_nothing(run, tmp_path):
    f = write(tmp_path / 'ip_vs.conf')
    args = {'files': [wanted(f)], 'packages': ['nginx'], 'units': ['nginx']}
    answers = {tuple(DPKG + ['nginx']): (0, 'nginx installed\n', '')}
    normal = run(args, answers)[0]
    checked, failed = run(args, answers, check_mode=True)[:2]
    assert not failed and checked == normal and checked['changed'] is False
    assert f.read_bytes() == CONTENT


def test_matching_lists_the_paths_that_match_in_the_order_given(run, tmp_path):
    good, spoiled, second = write(tmp_path / 'b.conf'), write(tmp_path / 'a.conf', mode=0o600), write(tmp_path / 'c.conf')
    result, failed, dummy = run({'files': [wanted(second), wanted(spoiled), wanted(good),
                                           {'path': str(tmp_path / 'gone'), 'state': 'absent'}]})
    assert not failed
    assert result['matching'] == [str(second), str(good), str(tmp_path / 'gone')]


def test_matching_is_empty_without_files(run):
    result, failed, dummy = run({'units': ['nginx']})
    assert not failed and result['matching'] == []
