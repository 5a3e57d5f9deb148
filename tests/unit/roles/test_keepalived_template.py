# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/keepalived/templates/keepalived.conf.j2 rendered with plain Jinja2 from keepalived_config's output.

(Configs like these pass keepalived -t on 2.1.5, 2.2.7 and 2.3.3; here only the text is checked.)
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ansible_collections.lvs.cluster.plugins.plugin_utils.keepalived import keepalived_config
from ansible_collections.lvs.cluster.plugins.plugin_utils.model import normalise_services

ROOT = Path(__file__).resolve().parents[3]
AUTH_FILE = '/etc/keepalived/lvs-cluster/vrrp-auth.conf'
SECRET = 'Lab-vrrp'
HOSTVARS = {'lb1': {'ansible_host': '192.0.2.1'}, 'lb2': {'ansible_host': '192.0.2.2'},
            'web1': {'ansible_host': '192.0.2.11'}, 'web2': {'ansible_host': '192.0.2.12'}}
GROUPS = {'all': list(HOSTVARS), 'lvs_real_servers': ['web1', 'web2']}
RS = [{'group': 'lvs_real_servers'}]
SERVICES = [
    {'name': 'web', 'vip': '192.0.2.100', 'port': 80, 'real_servers': RS, 'inhibit_on_failure': True,
     'sorry_server': {'address': '192.0.2.50'},
     'health_check': {'type': 'http_get', 'path': '/healthz', 'status_code': 204}},
    {'name': 'app', 'vip': '192.0.2.101', 'port': 443, 'forwarding': 'nat', 'gateway': '198.51.100.1',
     'real_servers': [{'address': '198.51.100.11', 'port': 8443}],
     'health_check': {'type': 'misc_check', 'script': '/usr/local/bin/check-app --quick'}},
    {'name': 'marked', 'fwmark': 7, 'real_servers': [{'address': '192.0.2.30', 'port': 8080}]},
    {'name': 'web6', 'vip': '2001:db8::100', 'port': 80, 'real_servers': [{'address': '2001:db8::11'}]},
]


DRAINED_DIR = '/var/lib/lvs-cluster/drained'
NETSTATE_APPLY = ['/usr/local/sbin/lvs-netstate', 'apply', '--keep-stale', '/etc/lvs-cluster/director.conf']


def render(services=None, hostvars=None, placement=None, template='keepalived.conf.j2', handover=False, **settings):
    settings = dict({'interface': 'eth0', 'auth_pass': SECRET}, **settings)
    normalised = normalise_services(copy.deepcopy(services or SERVICES), HOSTVARS, GROUPS)
    env = Environment(loader=FileSystemLoader(str(ROOT / 'roles/keepalived/templates')), trim_blocks=True,
                      undefined=StrictUndefined)
    env.filters['comment'] = lambda s: '# ' + s
    return env.get_template(template).render(
        __keepalived_config=keepalived_config(normalised, 'lb1', ['lb1', 'lb2'], hostvars or HOSTVARS, settings,
                                              placement),
        ansible_managed='Ansible managed', __keepalived_auth_file=AUTH_FILE,
        __keepalived_daemon='/usr/sbin/keepalived', __keepalived_ipvsadm='/sbin/ipvsadm',
        __common_drained_dir=DRAINED_DIR, __keepalived_netstate_apply=NETSTATE_APPLY, __keepalived_handover=handover,
        __keepalived_ip='/bin/ip', __keepalived_sleep='/bin/sleep', __keepalived_bgp_settle=3)


# Every drop-in starts so: after lvs-netstate@director, keepalived with --dont-release-ipvs.
DROPIN_HEAD = ['[Unit]', 'After=lvs-netstate@director.service', '[Service]', 'ExecStart=',
               'ExecStart=/usr/sbin/keepalived --dont-fork --dont-release-ipvs $DAEMON_ARGS']


def unit_lines(text):
    return [line for line in text.splitlines() if line and not line.startswith('#')]


def test_unit_dropin_removes_the_services_once_keepalived_has_exited():
    text = render(template='keepalived-service.conf.j2')
    assert unit_lines(text) == DROPIN_HEAD + [
        'ExecStopPost=-/sbin/ipvsadm -D -t 192.0.2.100:80',
        'ExecStopPost=-/sbin/ipvsadm -D -t 192.0.2.101:443',
        'ExecStopPost=-/sbin/ipvsadm -D -f 7',
        'ExecStopPost=-/sbin/ipvsadm -D -t [2001:db8::100]:80',
    ]
    assert text.startswith('# Ansible managed\n')


def test_unit_dropin_of_the_hand_over_keeps_the_services_and_gives_the_vips_back():
    text = render(template='keepalived-service.conf.j2', handover=True)
    assert unit_lines(text) == DROPIN_HEAD + [
        'ExecStopPost=-/usr/local/sbin/lvs-netstate apply --keep-stale /etc/lvs-cluster/director.conf',
    ]


def test_vrrp_version_3_with_a_fraction_of_a_second_and_no_authentication():
    text = render(SERVICES[:1], vrrp_version=3, advert_int=0.3, auth_pass='')
    assert 'vrrp_version 3' in lines(block(text, 'global_defs'))
    assert 'advert_int 0.3' in lines(block(text, 'vrrp_instance'))
    assert 'authentication {' not in text
    assert 'vrrp_version' not in render(SERVICES[:1])


def block(text, header):
    """The block that starts on the line beginning with header, up to its closing brace."""
    start = re.search(r'^ *' + re.escape(header) + r'.*\{$', text, re.M)
    assert start, 'no block %r in:\n%s' % (header, text)
    depth = 0
    for pos in range(start.end() - 1, len(text)):
        depth += {'{': 1, '}': -1}.get(text[pos], 0)
        if depth == 0:
            return text[start.start():pos + 1]
    raise AssertionError('block %r is not closed' % header)


def lines(text):
    return [line.strip() for line in text.splitlines()]


@pytest.fixture(scope='module')
def conf():
    return render()


def test_braces_are_balanced(conf):
    depth = 0
    for char in conf:
        depth += {'{': 1, '}': -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    assert lines(conf)[0] == '# Ansible managed'


def test_global_defs(conf):
    glob = lines(block(conf, 'global_defs'))
    assert 'router_id lb1' in glob
    assert 'lvs_sync_daemon eth0 lvs_vip_192_0_2_100 id 51' in glob
    assert {'script_user root', 'enable_script_security'} <= set(glob)  # there is a MISC_CHECK


def test_without_misc_check_or_sync_daemon(conf):
    text = render(SERVICES[:1], sync_daemon=False)
    assert 'enable_script_security' not in text and 'script_user' not in text
    assert 'lvs_sync_daemon' not in text
    assert 'vrrp_sync_group' not in text  # a single instance: a sync group of one is invalid


def test_sync_group_lists_every_instance(conf):
    assert lines(block(conf, 'vrrp_sync_group lvs'))[2:6] == [
        'lvs_vip_192_0_2_100', 'lvs_vip_192_0_2_101', 'lvs_vip_2001_db8__100', 'lvs_gw_198_51_100_1']


def test_vrrp_instance(conf):
    inst = lines(block(conf, 'vrrp_instance lvs_vip_192_0_2_100'))
    assert inst[1:6] == ['state MASTER', 'interface eth0', 'virtual_router_id 51', 'priority 150', 'advert_int 1']
    assert '192.0.2.100/32 dev eth0' in inst
    assert 'nopreempt' not in conf and 'preempt_delay' not in conf
    assert lines(block(render(SERVICES[:1], preempt_delay=30), 'vrrp_instance'))[6] == 'preempt_delay 30'
    assert lines(block(render(SERVICES[:1], priority=100), 'vrrp_instance'))[1] == 'state BACKUP'  # lb2 has 140


def test_an_ipv6_vip_is_deprecated_so_the_director_never_connects_from_it(conf):
    vips = [line for line in lines(block(conf, 'vrrp_instance lvs_vip_2001_db8__100')) if line.startswith('2001:')]
    assert vips == ['2001:db8::100/128 dev eth0 preferred_lft 0']
    assert [line for line in lines(block(conf, 'vrrp_instance lvs_vip_192_0_2_100')) if 'dev eth0' in line] == \
        ['192.0.2.100/32 dev eth0']  # IPv4 has no such thing


def test_nopreempt_only_without_preemption():
    text = render(preempt=False, preempt_delay=30)
    instances = re.findall(r'^vrrp_instance ', text, re.M)
    assert len(instances) == text.count('\n    nopreempt\n') == 4
    assert 'state MASTER' not in text and 'preempt_delay' not in text


def test_authentication_includes_the_secret_file_and_never_the_secret(conf):
    assert SECRET not in conf
    auth = lines(block(block(conf, 'vrrp_instance lvs_vip_192_0_2_100'), 'authentication'))
    assert auth == ['authentication {', 'auth_type PASS', 'include ' + AUTH_FILE, '}']
    assert 'authentication' not in block(conf, 'vrrp_instance lvs_vip_2001_db8__100')  # VRRPv3: none
    assert 'authentication' not in render(auth_pass='')


def test_fwmark_service(conf):
    vs = lines(block(conf, 'virtual_server fwmark 7'))
    assert not any(line.startswith('protocol') for line in vs)
    assert 'real_server 192.0.2.30 {' in vs  # no port of its own
    assert vs[vs.index('TCP_CHECK {') + 1] == 'connect_port 8080'


def test_http_get(conf):
    vs = block(conf, 'virtual_server 192.0.2.100 80')
    assert 'protocol TCP' in lines(vs) and 'lb_kind DR' in lines(vs)
    assert lines(block(vs, 'real_server 192.0.2.11 80')) == [
        'real_server 192.0.2.11 80 {', 'weight 1', 'include %s/[1]92.0.2.11' % DRAINED_DIR, 'inhibit_on_failure', 'HTTP_GET {', 'url {', 'path /healthz',
        'status_code 204', '}', 'connect_timeout 3', 'retry 1', 'delay_before_retry 1', '}', '}']
    assert 'connect_port' not in vs


def test_misc_check(conf):
    vs = block(conf, 'virtual_server 192.0.2.101 443')
    assert 'lb_kind NAT' in lines(vs)
    assert lines(block(vs, 'MISC_CHECK')) == [
        'MISC_CHECK {', 'misc_path "/usr/local/bin/check-app --quick"', 'misc_timeout 5', 'retry 1',
        'delay_before_retry 1', '}']
    assert 'real_server 198.51.100.11 8443 {' in lines(vs)


def test_sorry_server_and_inhibit_on_failure(conf):
    vs = lines(block(conf, 'virtual_server 192.0.2.100 80'))
    assert 'sorry_server 192.0.2.50 80' in vs
    assert vs.count('inhibit_on_failure') == 2  # one per real server
    assert 'inhibit_on_failure' not in block(conf, 'virtual_server 192.0.2.101 443')
    assert conf.count('sorry_server') == 1


def test_health_check_none_renders_no_check():
    text = render([dict(SERVICES[0], health_check={'type': 'none'}, inhibit_on_failure=False, sorry_server=None)])
    assert not re.search(r'TCP_CHECK|HTTP_GET|MISC_CHECK|inhibit_on_failure|sorry_server', text)
    assert lines(block(text, 'real_server 192.0.2.11 80')) == [
        'real_server 192.0.2.11 80 {', 'weight 1', 'include %s/[1]92.0.2.11' % DRAINED_DIR, '}']


def test_unicast_vrrp_names_source_and_peer_and_multicast_is_the_default(conf):
    assert 'unicast' not in conf
    hostvars = copy.deepcopy(HOSTVARS)
    for name, last in (('lb1', 1), ('lb2', 2)):
        hostvars[name]['ansible_facts'] = {'interfaces': ['eth0'], 'eth0': {
            'ipv4': {'address': '192.0.2.%d' % last, 'netmask': '255.255.255.0'},
            'ipv4_secondaries': [{'address': '198.51.100.%d' % (last + 1), 'netmask': '255.255.255.0'}],
            'ipv6': [{'address': '2001:db8::%d' % last, 'prefix': '64'}]}}
    text = render(hostvars=hostvars, placement={}, unicast=True)
    assert '    unicast_src_ip 192.0.2.1\n    unicast_peer {\n        192.0.2.2\n    }\n' in \
        block(text, 'vrrp_instance lvs_vip_192_0_2_100')
    assert '    unicast_src_ip 198.51.100.2\n    unicast_peer {\n        198.51.100.3\n    }\n' in \
        block(text, 'vrrp_instance lvs_gw_198_51_100_1')
    assert '    unicast_src_ip 2001:db8::1\n    unicast_peer {\n        2001:db8::2\n    }\n' in \
        block(text, 'vrrp_instance lvs_vip_2001_db8__100')


def test_unicast_with_one_director_renders_no_empty_peer_block():
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['lb1']['ansible_facts'] = {'interfaces': ['eth0'], 'eth0': {
        'ipv4': {'address': '192.0.2.1', 'netmask': '255.255.255.0'}}}
    normalised = normalise_services(copy.deepcopy(SERVICES[:1]), hostvars, GROUPS)
    env = Environment(loader=FileSystemLoader(str(ROOT / 'roles/keepalived/templates')), trim_blocks=True,
                      undefined=StrictUndefined)
    env.filters['comment'] = lambda s: '# ' + s
    text = env.get_template('keepalived.conf.j2').render(
        __keepalived_config=keepalived_config(normalised, 'lb1', ['lb1'], hostvars,
                                              {'interface': 'eth0', 'unicast': True}, {}),
        ansible_managed='Ansible managed', __keepalived_auth_file=AUTH_FILE, __common_drained_dir=DRAINED_DIR)
    assert 'unicast' not in text


BGP_SERVICES = [{'name': 'web', 'vip': '203.0.113.10', 'port': 80, 'scheduler': 'mh',
                 'scheduler_flags': ['mh-fallback', 'mh-port'],
                 'real_servers': RS}]


def test_bgp_mode_withdraws_before_start_and_first_thing_after_stop():
    text = render(BGP_SERVICES, template='keepalived-service.conf.j2', mode='bgp', bgp_table=4242, auth_pass='')
    assert unit_lines(text) == DROPIN_HEAD + [
        'ExecStartPre=-/bin/ip -4 route flush table 4242',
        'ExecStopPost=-/bin/ip -4 route flush table 4242',
        'ExecStartPre=-/bin/ip -6 route flush table 4242',
        'ExecStopPost=-/bin/ip -6 route flush table 4242',
        'ExecStopPost=-/bin/sleep 3',
        'ExecStopPost=-/sbin/ipvsadm -D -t 203.0.113.10:80',
    ]


def test_bgp_mode_marks_each_service_up_in_the_table_bird_reads_and_has_no_vrrp():
    text = render(BGP_SERVICES, mode='bgp', bgp_table=4242, auth_pass='')
    assert 'vrrp_instance' not in text and 'lvs_sync_daemon' not in text and 'authentication' not in text
    assert '    quorum_up "/bin/ip -4 route replace 203.0.113.10/32 dev lo table 4242 metric 337598120"\n' in text
    assert '    quorum_down "/bin/ip -4 route delete 203.0.113.10/32 dev lo table 4242 metric 337598120"\n' in text
    assert text.count('        inhibit_on_failure\n') == 2 and 'alpha' not in text
    assert '    enable_script_security\n' in text and '    mh-fallback\n    mh-port\n' in text
