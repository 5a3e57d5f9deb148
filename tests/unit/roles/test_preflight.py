# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' preflights, run for real by ansible-playbook against an inventory of hosts that are never contacted.

Preflights are controller-side only: these runs prove that an import that cannot see lvs_virtual_services is
refused before anything changes, and that bad input is reported all at once, by field, without an argument-spec
dump. One playbook run per case (each costs a few seconds).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[3]
INVENTORY = """
all:
  hosts:
    lb1: {ansible_host: 192.0.2.10, ansible_connection: local}
    web1: {ansible_host: 192.0.2.11, ansible_connection: local}
    web2: {ansible_host: 192.0.2.12, ansible_connection: local}
  children:
    lvs_directors: {hosts: {lb1: {}}}
    lvs_real_servers: {hosts: {web1: {}, web2: {}}}
"""
GOOD = [{'name': 'www', 'vip': '192.0.2.100', 'port': 80, 'real_servers': [{'group': 'lvs_real_servers'}]}]


def run(tmp_path, hosts, role, tasks_from, extra, inventory=INVENTORY, include_vars=None, then=None):
    """ansible-playbook with one play that includes role's tasks_from on hosts, then the tasks then; (rc, output)."""
    (tmp_path / 'hosts.yml').write_text(inventory)
    include = {'ansible.builtin.include_role': {'name': 'lvs.cluster.%s' % role, 'tasks_from': tasks_from}}
    if include_vars:
        include['vars'] = include_vars
    play = [{'hosts': hosts, 'gather_facts': False, 'tasks': [include] + (then or [])}]
    (tmp_path / 'play.yml').write_text(json.dumps(play))
    (tmp_path / 'extra.json').write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / 'build' / 'collections'))
    done = subprocess.run([str(Path(sys.executable).parent / 'ansible-playbook'), '-i', str(tmp_path / 'hosts.yml'),
                           '-e', '@%s' % (tmp_path / 'extra.json'), str(tmp_path / 'play.yml')],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    return done.returncode, done.stdout + done.stderr


def test_director_import_without_services_is_refused(tmp_path):
    rc, out = run(tmp_path, 'lvs_directors', 'director', 'preflight', {})
    assert rc != 0
    assert 'director_virtual_services: no service is declared for lb1' in out
    assert 'director_allow_empty_table' in out


def test_director_empty_table_on_purpose_passes(tmp_path):
    rc, out = run(tmp_path, 'lvs_directors', 'director', 'preflight', {'director_allow_empty_table': True})
    assert rc == 0, out


TWO_DIRECTORS = INVENTORY.replace('lvs_directors: {hosts: {lb1: {}}}', 'lvs_directors: {hosts: {lb1: {}, web2: {}}}')


def test_several_directors_without_ha_are_refused(tmp_path):
    rc, out = run(tmp_path, 'lb1', 'director', 'preflight', {'lvs_virtual_services': GOOD}, TWO_DIRECTORS)
    assert rc != 0
    assert 'lvs_director_ha: none with 2 directors (lb1, web2) would put every VIP on each of them' in out


def test_several_directors_with_ha_pass(tmp_path):
    rc, out = run(tmp_path, 'lb1', 'director', 'preflight',
                  {'lvs_virtual_services': GOOD, 'lvs_director_ha': 'keepalived'}, TWO_DIRECTORS)
    assert rc == 0, out


def test_realserver_import_without_services_is_refused(tmp_path):
    rc, out = run(tmp_path, 'lvs_real_servers', 'realserver', 'preflight', {})
    assert rc != 0
    assert 'realserver_virtual_services: no service is declared, so web1 would stop being a real server' in out


# The cleanup entry point alone (site.yml's last play, imported elsewhere) must not tear a real server down either.
def test_realserver_cleanup_alone_without_services_is_refused(tmp_path):
    rc, out = run(tmp_path, 'lvs_real_servers', 'realserver', 'cleanup', {})
    assert rc != 0
    assert 'no service is declared, so web1 would stop being a real server' in out
    assert 'Stop being a real server' not in out


def test_bad_input_is_reported_at_once_by_field_without_a_spec_dump(tmp_path):
    services = [{'name': 'www', 'vip': '192.0.2.100', 'port': 'http',
                 'real_servers': [{'address': '192.0.2.11', 'weight': 70000}, {'group': 'nope'}]}]
    rc, out = run(tmp_path, 'lvs_directors', 'director', 'preflight',
                  {'lvs_virtual_services': services, 'director_vip_interface': 'eth0\n'})
    assert rc != 0
    for problem in ("lvs_virtual_services[0] (www).port: must be an integer",
                    "lvs_virtual_services[0] (www).real_servers[0].weight: 70000 is outside 0..65535",
                    "lvs_virtual_services[0] (www).real_servers[1].group: group 'nope' does not exist in inventory",
                    "director_vip_interface:"):
        assert problem in out, out
    assert 'argument_spec_data' not in out
    assert 'Traceback' not in out


# keepalived.conf is this role's only when it carries the role's header; someone else's is never replaced.
# Four local hosts, each pointed at its own file (include vars beat the role's vars).
OWNER_INVENTORY = """
all:
  vars: {ansible_connection: local, ansible_python_interpreter: "%s"}
  hosts:
    ours: {conf: ours.conf}
    foreign: {conf: foreign.conf}
    foreign_replace: {conf: foreign.conf, keepalived_replace_config: true}
    none: {conf: none.conf}
    directory: {conf: a-directory}
    dangling: {conf: dangling.conf}
    link_ours: {conf: link-ours.conf}
    link_replace: {conf: link-foreign.conf, keepalived_replace_config: true}
""" % sys.executable


def test_keepalived_never_replaces_a_foreign_config(tmp_path):
    (tmp_path / 'ours.conf').write_text('# Generated by lvs.cluster.keepalived from lvs_virtual_services\n')
    (tmp_path / 'foreign.conf').write_text('global_defs {\n}\n')
    (tmp_path / 'a-directory').mkdir()  # not a file: neither ours nor absent
    (tmp_path / 'dangling.conf').symlink_to(tmp_path / 'nowhere.conf')  # someone else's link
    (tmp_path / 'link-ours.conf').symlink_to(tmp_path / 'ours.conf')     # a link is never this role's
    (tmp_path / 'link-foreign.conf').symlink_to(tmp_path / 'foreign.conf')
    owned = [{'ansible.builtin.debug': {'msg': 'owned={{ __keepalived_conf_state.matches }}'}}]
    rc, out = run(tmp_path, 'all', 'keepalived', 'owner', {}, OWNER_INVENTORY,
                  {'__keepalived_conf': '%s/{{ conf }}' % tmp_path, '__keepalived_conf_to_write': True}, owned)
    assert rc != 0
    # what the hand-over to the director role and decommission act on: only the file with the mark
    for host, mark in (('ours', True), ('foreign_replace', False), ('none', False), ('link_replace', False)):
        assert re.search(r'ok: \[%s\] =>\s+msg: owned=%s\n' % (host, mark), out), out
    refused = '%s/foreign.conf exists and was not written by lvs.cluster.keepalived' % tmp_path
    assert 'fatal: [foreign]' in out and refused in out, out
    assert 'fatal: [link_ours]' in out and '%s/link-ours.conf exists and was not written' % tmp_path in out, out
    assert 'fatal: [directory]' in out and '%s/a-directory is a directory' % tmp_path in out, out
    assert 'fatal: [dangling]' in out and '%s/dangling.conf exists and was not written' % tmp_path in out, out
    for host in ('ours', 'foreign_replace', 'none', 'link_replace'):
        assert 'fatal: [%s]' % host not in out, out
        assert '%s  ' % host in out.split('PLAY RECAP')[1] and 'failed=0' in \
            [line for line in out.split('PLAY RECAP')[1].splitlines() if line.startswith(host + ' ')][0], out


def test_keepalived_hand_over_and_decommission_leave_whatever_is_not_theirs_alone(tmp_path):
    # without __keepalived_conf_to_write (site.yml's hand-over, decommission): nothing fails, only the marked file is ours
    (tmp_path / 'ours.conf').write_text('# Generated by lvs.cluster.keepalived from lvs_virtual_services\n')
    (tmp_path / 'foreign.conf').write_text('global_defs {\n}\n')
    (tmp_path / 'a-directory').mkdir()
    (tmp_path / 'dangling.conf').symlink_to(tmp_path / 'nowhere.conf')
    (tmp_path / 'link-ours.conf').symlink_to(tmp_path / 'ours.conf')
    (tmp_path / 'link-foreign.conf').symlink_to(tmp_path / 'foreign.conf')
    owned = [{'ansible.builtin.debug': {'msg': 'owned={{ __keepalived_conf_state.matches }}'}}]
    rc, out = run(tmp_path, 'all', 'keepalived', 'owner', {}, OWNER_INVENTORY,
                  {'__keepalived_conf': '%s/{{ conf }}' % tmp_path}, owned)
    assert rc == 0, out
    for host in ('ours', 'foreign', 'foreign_replace', 'none', 'directory', 'dangling', 'link_ours', 'link_replace'):
        assert re.search(r'ok: \[%s\] =>\s+msg: owned=%s\n' % (host, host == 'ours'), out), out


def test_keepalived_ownership_read_by_the_directors_probe_costs_no_run_of_its_own(tmp_path):
    # site.yml passes what the director's probe found: no probe of owner.yml's own, the state is the one given
    (tmp_path / 'foreign.conf').write_text('global_defs {\n}\n')
    given = {'exists': True, 'matches': True, 'type': 'file'}
    show = [{'ansible.builtin.debug': {'msg': 'state={{ __keepalived_conf_state | to_json }}'}}]
    rc, out = run(tmp_path, 'ours', 'keepalived', 'owner', {}, OWNER_INVENTORY,
                  {'__keepalived_conf': '%s/foreign.conf' % tmp_path, '__keepalived_conf_found': given}, show)
    assert rc == 0, out
    assert 'Find out whether keepalived.conf was written by this role' in out  # the task is listed, and skipped
    assert re.search(r'skipping: \[ours\]', out), out
    assert 'msg: \'state={"exists": true, "matches": true, "type": "file"}\'' in out, out


# Drain and restore find the directors whose table keepalived builds from the directors' own setting (here a group
# var of lvs_directors that the real server does not have): those get a keepalived reload after the held-out file.
KEEPALIVED_DIRECTORS = INVENTORY.replace(
    'lvs_directors: {hosts: {lb1: {}}}',
    'lvs_directors: {hosts: {lb1: {}, lb2: {ansible_host: 192.0.2.9, ansible_connection: local, '
    'lvs_director_ha: none}}, vars: {lvs_director_ha: keepalived}}')


def test_drain_finds_the_directors_that_run_keepalived(tmp_path):
    show = [{'ansible.builtin.debug': {'msg': 'keepalived directors: {{ __realserver_keepalived_directors | to_json }}'}}]
    rc, out = run(tmp_path, 'web1', 'realserver', 'maintenance_preflight', {'lvs_virtual_services': GOOD},
                  KEEPALIVED_DIRECTORS, then=show)
    assert rc == 0, out
    assert 'keepalived directors: [\\"lb1\\"]' in out or 'keepalived directors: ["lb1"]' in out, out


def test_drain_of_a_host_that_serves_nothing_is_refused(tmp_path):
    services = [dict(GOOD[0], real_servers=[{'address': '192.0.2.12'}])]
    rc, out = run(tmp_path, 'web1', 'realserver', 'drain', {'lvs_virtual_services': services})
    assert rc != 0
    assert 'lvs_virtual_services: web1 serves no service, so there is nothing to drain or restore' in out


# The page goes into the nginx site: anything that could end its string or add a directive is refused.
def test_web_page_content_that_could_break_the_nginx_site_is_refused(tmp_path):
    rc, out = run(tmp_path, 'web1', 'web', 'preflight', {'lvs_virtual_services': GOOD, 'web_page_content': 'x";\n'})
    assert rc != 0
    assert 'web_page_content: must be up to 200 printable ASCII characters' in ' '.join(out.split())


def test_web_page_content_of_the_defaults_and_the_ha_sorry_page_pass(tmp_path):
    for content in ('web1\n', 'sorry from ha-director1\n'):
        rc, out = run(tmp_path, 'web1', 'web', 'preflight', {'lvs_virtual_services': GOOD, 'web_page_content': content})
        assert rc == 0, out


BGP_GOOD = [{'name': 'www', 'vip': '203.0.113.10', 'port': 80, 'scheduler': 'mh',
             'scheduler_flags': ['mh-fallback', 'mh-port'], 'real_servers': [{'group': 'lvs_real_servers'}]}]
BGP_SETTINGS = {'lvs_director_ha': 'bgp', 'bgp_local_as': 64513,
                'bgp_peers': [{'address': '192.0.2.1', 'as': 64512, 'password': 'lab secret'}]}


def test_several_directors_with_bgp_pass_and_the_password_stays_hidden(tmp_path):
    extra = dict(BGP_SETTINGS, lvs_virtual_services=BGP_GOOD)
    for role in ('director', 'keepalived', 'bgp'):
        rc, out = run(tmp_path, 'lb1', role, 'preflight', extra, TWO_DIRECTORS)
        assert rc == 0, out
        assert 'lab secret' not in out


def test_bgp_preflight_reports_services_and_settings_at_once(tmp_path):
    extra = dict(BGP_SETTINGS, lvs_virtual_services=[dict(GOOD[0], scheduler='wlc')], bgp_local_as='x',
                 bgp_peers=[{'address': '192.0.2.1', 'as': 64512, 'password': 'bad"one'}])
    rc, out = run(tmp_path, 'lb1', 'bgp', 'preflight', extra, TWO_DIRECTORS)
    assert rc != 0
    assert 'invalid BGP settings (lvs_director_ha: bgp):' in out
    assert 'lvs_virtual_services (www).scheduler: wlc keeps state of its own on each director' in out
    assert "bgp_local_as: must be an integer 1..4294967295, got str 'x'" in out
    assert 'bgp_peers[0].password: must be 1..80 printable ASCII characters' in out
    assert 'bad"one' not in out
    assert 'argument_spec_data' not in out


# claimed.yml reads the facts of the host, here the machine running the tests, with this interpreter
LOCAL_FACTS = {'ansible_python_interpreter': sys.executable}


def _own_address():
    """A global address of the machine running the tests (ansible_connection local reads its facts)."""
    import ipaddress
    import socket
    for family, probe in ((socket.AF_INET, '192.0.2.1'), (socket.AF_INET6, '2001:db8::1')):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.connect((probe, 9))  # UDP: no packet is sent; the kernel only picks the source address
                addr = ipaddress.ip_address(sock.getsockname()[0].split('%')[0])
        except OSError:
            continue
        if not (addr.is_loopback or addr.is_link_local or addr.is_unspecified):
            return addr.compressed
    pytest.skip('this machine has no global address to test with')


def test_realserver_whose_own_address_is_declared_is_not_taken_apart(tmp_path):
    """The play resolves web1 to 192.0.2.11, but the declaration names this machine's own address: web1 serves
    nothing by the declaration, yet stopping it being a real server would break a live one."""
    addr = _own_address()
    services = [{'name': 'www', 'vip': '203.0.113.100', 'port': 80, 'real_servers': [{'address': addr}]}]
    rc, out = run(tmp_path, 'web1', 'realserver', 'claimed', {'lvs_virtual_services': services, **LOCAL_FACTS})
    assert rc != 0, out
    variable = 'lvs_real_server_address6' if ':' in addr else 'lvs_real_server_address'
    assert '%s: web1 holds %s, declared as a real server of www, but the declaration does not resolve' % (variable, addr) in out


def test_realserver_whose_address_is_not_declared_passes_the_claim_check(tmp_path):
    rc, out = run(tmp_path, 'web1', 'realserver', 'claimed', {'lvs_virtual_services': GOOD, **LOCAL_FACTS})
    assert rc == 0, out
    assert 'holds' not in out


def test_bgp_withdraw_used_alone_checks_its_input_before_anything(tmp_path):
    """tasks_from: withdraw in a user's play (not after site.yml's validation): bad input is reported by field before
    the derivation, the install or any write; before, its derivation met an undefined variable instead."""
    extra = dict(BGP_SETTINGS, lvs_virtual_services=BGP_GOOD, bgp_local_as='x')
    rc, out = run(tmp_path, 'lb1', 'bgp', 'withdraw', extra, TWO_DIRECTORS)
    assert rc != 0
    assert "bgp_local_as: must be an integer 1..4294967295, got str 'x'" in out
    assert 'Derive the BIRD configuration' not in out


def test_realserver_holding_a_declared_vip_is_not_mistaken_for_a_real_server(tmp_path):
    """A DR real server holds the VIPs on lo: this machine's own address as one service's VIP and another's real
    server (the model accepts it) is not a claim on this host."""
    addr = _own_address()
    services = [{'name': 'front', 'vip': '203.0.113.100', 'port': 80, 'real_servers': [{'address': addr}]},
                {'name': 'back', 'vip': addr, 'port': 8080, 'real_servers': [{'address': '203.0.113.7'}]}]
    rc, out = run(tmp_path, 'web1', 'realserver', 'claimed', {'lvs_virtual_services': services, **LOCAL_FACTS})
    assert rc == 0, out


def test_realserver_that_serves_one_service_is_checked_for_its_address_in_another(tmp_path):
    """web1 serves www at 192.0.2.11 (resolved to it), while api names this machine's own address, which the play
    does not resolve to web1: taking api's VIP away would break it."""
    addr = _own_address()
    services = GOOD + [{'name': 'api', 'vip': '203.0.113.101', 'port': 80, 'real_servers': [{'address': addr}]}]
    rc, out = run(tmp_path, 'web1', 'realserver', 'claimed', {'lvs_virtual_services': services, **LOCAL_FACTS})
    assert rc != 0, out
    assert 'web1 holds %s, declared as a real server of api, but' % addr in out
