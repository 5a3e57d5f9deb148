# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bgp_config and keepalived's bgp mode (lvs_director_ha: bgp): what BIRD announces, and the service rules."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ansible_collections.lvs.cluster.plugins.filter.bgp import FilterModule
from ansible_collections.lvs.cluster.plugins.plugin_utils.bgp import announce_routes, bgp_config
from ansible_collections.lvs.cluster.plugins.plugin_utils.keepalived import keepalived_config
from ansible_collections.lvs.cluster.plugins.plugin_utils.model import ModelError, normalise_services

ROOT = Path(__file__).resolve().parents[4]
HOSTVARS = {'web1': {'ansible_host': '192.0.2.21'}, 'web2': {'ansible_host': '192.0.2.22'}}
GROUPS = {'all': list(HOSTVARS), 'lvs_real_servers': ['web1', 'web2']}
RS = [{'group': 'lvs_real_servers'}]
WEB = {'name': 'web', 'vip': '203.0.113.10', 'port': 80, 'scheduler': 'mh', 'scheduler_flags': ['mh-fallback', 'mh-port'],
       'real_servers': RS}
TLS = dict(WEB, name='web-tls', port=443)
WEB6 = {'name': 'web6', 'vip': '2001:db8::10', 'port': 80, 'scheduler': 'sh', 'scheduler_flags': ['sh-fallback'],
        'real_servers': [{'address': '2001:db8::21'}]}
PEER = {'address': '192.0.2.1', 'as': 64512}
FACTS = {'default_ipv4': {'address': '192.0.2.11'}}
SECRET = 'lab only md5'


def services(*items):
    return normalise_services(copy.deepcopy(list(items or [WEB])), HOSTVARS, GROUPS)


def config(items=None, facts='default', **settings):
    settings = dict({'local_as': 64513, 'peers': [PEER]}, **settings)
    return bgp_config(services(*(items or [WEB])), 'lb1', settings, FACTS if facts == 'default' else facts)


def errors(items=None, **settings):
    with pytest.raises(ModelError) as info:
        config(items, **settings)
    return info.value.errors


def test_announces_each_vip_once_as_a_host_route():
    cfg = config([WEB, TLS, WEB6], peers=[PEER, {'address': '2001:db8::1', 'as': 64512, 'bfd': True}])
    assert cfg['prefixes'] == {'inet': ['203.0.113.10/32'], 'inet6': ['2001:db8::10/128']}
    assert cfg['families'] == ['inet', 'inet6']
    assert [(p['name'], p['family'], p['bfd'], p['password']) for p in cfg['peers']] == [
        ('lvs_peer_192_0_2_1', 'inet', False, False), ('lvs_peer_2001_db8__1', 'inet6', True, False)]
    assert cfg['bfd'] == {'interval': 200, 'multiplier': 3}
    assert (cfg['router_id'], cfg['local_as'], cfg['hold_time'], cfg['keepalive_time']) == ('192.0.2.11', 64513, 9, 3)


def test_router_id_set_or_from_facts_and_only_ipv4():
    assert config(router_id='198.51.100.7')['router_id'] == '198.51.100.7'
    assert config(facts=None)['router_id'] is None  # preflight: facts come later
    assert errors(router_id='2001:db8::7') == ['bgp_router_id: 2001:db8::7: a router id is written as an IPv4 address']
    assert errors(facts={}) == ['bgp_router_id: this director has no default IPv4 address to take it from: set it '
                                '(an IPv4 address unique among the BGP speakers)']


def test_password_is_checked_and_never_echoed():
    cfg = config(peers=[dict(PEER, password=SECRET)])
    assert cfg['passwords'] is True and cfg['peers'][0]['password'] is True
    assert SECRET not in repr(cfg)
    bad = 'has"quote'
    problems = errors(peers=[dict(PEER, password=bad)])
    assert problems == ['bgp_peers[0].password: must be 1..80 printable ASCII characters without double quotes or '
                        'backslashes (value hidden)']
    assert bad not in ''.join(problems)


def test_every_problem_at_once_in_the_users_terms():
    nat = {'name': 'app', 'vip': '203.0.113.11', 'port': 80, 'scheduler': 'wlc', 'forwarding': 'nat',
           'gateway': '192.0.2.62', 'real_servers': RS}
    marked = {'name': 'marked', 'fwmark': 7, 'scheduler': 'mh', 'real_servers': [{'address': '192.0.2.30', 'port': 80}]}
    hashed = dict(WEB, name='hashed', vip='203.0.113.12', scheduler_flags=['mh-port'])
    assert errors([nat, marked, hashed], local_as=0, hold_time=2, bfd_interval=5, maintenance='maybe',
                  peers=[{'address': '203.0.113.11', 'as': 'x', 'color': 'red'}, PEER, PEER]) == [
        'lvs_virtual_services (app).scheduler: wlc keeps state of its own on each director, but with lvs_director_ha: '
        'bgp every director must send a flow to the same real server (a router may move it to another director): use '
        'mh (with scheduler_flags: [mh-fallback, mh-port], recommended) or sh (with sh-fallback)',
        'lvs_virtual_services (app).forwarding: nat is not supported with lvs_director_ha: bgp: NAT replies must pass '
        'back through the director that received the request, and ECMP does not send them there; use dr or tun',
        'lvs_virtual_services (marked).scheduler_flags: add mh-fallback with lvs_director_ha: bgp: a real server that '
        'fails its health check keeps its place at weight 0 (so that no other flow moves), and without the flag the '
        'flows hashed to it fail instead of going to another real server',
        'lvs_virtual_services (marked).vip: required with lvs_director_ha: bgp (it is the address the directors '
        'announce)',
        'lvs_virtual_services (hashed).scheduler_flags: add mh-fallback with lvs_director_ha: bgp: a real server that '
        'fails its health check keeps its place at weight 0 (so that no other flow moves), and without the flag the '
        'flows hashed to it fail instead of going to another real server',
        'bgp_local_as: 0 is outside 1..4294967295',
        'bgp_hold_time: 2 is outside 3..65535',
        'bgp_bfd_interval: 5 is outside 10..10000',
        "bgp_maintenance: must be true or false, got str 'maybe'",
        'bgp_peers[0].color: unknown key (known: address, as, password, bfd, multihop)',
        "bgp_peers[0].as: must be an integer 1..4294967295, got str 'x'",
        'bgp_peers[0].address: 203.0.113.11 is a VIP of lvs_virtual_services, not a router',
        'bgp_peers[2].address: 192.0.2.1 is listed twice',
    ]


def test_a_peer_needs_vips_of_its_family_and_every_vip_a_peer():
    assert errors(peers=[{'address': '2001:db8::1', 'as': 64512}]) == [
        'bgp_peers: no IPv4 peer: the IPv4 VIPs (203.0.113.10) would never be announced',
        'bgp_peers: 2001:db8::1 is an IPv6 peer, but no VIP of that family is declared to announce to it']
    assert errors(peers=[]) == ['bgp_peers: must be a non-empty list of {address, as} (the routers this director '
                                'announces its VIPs to), got an empty list']


def test_peers_are_never_echoed_they_may_hold_passwords():
    assert errors(peers={'address': '192.0.2.1', 'password': SECRET}) == [
        'bgp_peers: must be a non-empty list of {address, as} (the routers this director announces its VIPs to), '
        'got dict']
    assert errors(peers=['192.0.2.1 password ' + SECRET]) == ['bgp_peers[0]: must be a mapping with address and as, '
                                                              'got str']


def test_bfd_needs_a_directly_connected_router():
    assert errors(peers=[dict(PEER, bfd=True, multihop=True)]) == [
        'bgp_peers[0]: bfd with multihop: BIRD needs a source address for multihop BFD, which this role does not set; '
        'use BFD with a directly connected router only']


def test_router_id_from_facts_must_be_ipv4():
    for facts in ({'default_ipv4': '192.0.2.11'}, {'default_ipv4': {'address': '2001:db8::11'}}):
        assert errors(facts=facts) == ['bgp_router_id: this director has no default IPv4 address to take it from: '
                                       'set it (an IPv4 address unique among the BGP speakers)']


def test_filter_wraps_the_errors():
    with pytest.raises(AnsibleFilterError, match=r'invalid BGP settings \(lvs_director_ha: bgp\):\nbgp_local_as'):
        FilterModule().filters()['bgp_config'](services(), 'lb1', {'local_as': -1, 'peers': [PEER]})


def test_one_route_per_service_so_a_vip_stays_while_any_of_its_services_is_up():
    routes = announce_routes(services(WEB, TLS, WEB6), 4242)
    # the metric comes from the service's identity (-t 203.0.113.10:80), not its place: removing another service
    # never changes it
    assert routes['web'] == {
        'up': ['/bin/ip', '-4', 'route', 'replace', '203.0.113.10/32', 'dev', 'lo', 'table', '4242', 'metric',
               '337598120'],
        'down': ['/bin/ip', '-4', 'route', 'delete', '203.0.113.10/32', 'dev', 'lo', 'table', '4242', 'metric',
                 '337598120']}
    assert routes['web-tls']['up'][-1] == '1065724785'
    assert announce_routes(services(TLS), 4242)['web-tls'] == routes['web-tls']
    assert routes['web6']['up'][:5] == ['/bin/ip', '-6', 'route', 'replace', '2001:db8::10/128']


def test_keepalived_bgp_mode_has_no_vrrp_and_keeps_failed_servers_in_place():
    ka = keepalived_config(services(WEB, WEB6), 'lb1', ['lb1', 'lb2'], HOSTVARS, {'mode': 'bgp', 'bgp_table': 4242})
    assert (ka['mode'], ka['instances'], ka['sync_group'], ka['sync_daemon'], ka['scripts']) == ('bgp', [], [], None, True)
    web = ka['virtual_servers'][0]
    assert web['inhibit_on_failure'] is True
    assert web['quorum_up'] == '/bin/ip -4 route replace 203.0.113.10/32 dev lo table 4242 metric 337598120'
    assert web['quorum_down'] == '/bin/ip -4 route delete 203.0.113.10/32 dev lo table 4242 metric 337598120'
    assert 'alpha' not in web
    with pytest.raises(ModelError, match="lvs_director_ha: unknown a keepalived mode 'ecmp'"):
        keepalived_config(services(), 'lb1', ['lb1'], HOSTVARS, {'mode': 'ecmp'})


def _render_bird(cfg, **extra):
    env = Environment(loader=FileSystemLoader(str(ROOT / 'roles/bgp/templates')), trim_blocks=True,
                      undefined=StrictUndefined)
    env.filters['comment'] = lambda s: '# ' + s
    values = dict(__bgp_config=cfg, ansible_managed='Ansible managed', __bgp_secrets='/etc/lvs-cluster/bird/secrets.conf')
    values.update(extra)
    return env.get_template('bird.conf.j2').render(**values)


def test_bird_conf_exports_only_the_declared_vips_and_nothing_in_maintenance():
    text = _render_bird(config([WEB, TLS], peers=[dict(PEER, bfd=True, password=SECRET)]))
    assert 'if net ~ [ 203.0.113.10/32 ] then accept;' in text
    assert 'include "/etc/lvs-cluster/bird/secrets.conf";' in text
    assert '    password lvs_password_0;\n    bfd on;\n' in text
    assert SECRET not in text
    assert 'protocol kernel lvs_vips6' not in text
    quiet = _render_bird(config([WEB], maintenance=True))
    assert 'if net ~' not in quiet and '    reject;\n}' in quiet
    assert 'protocol bfd' not in quiet and 'include' not in quiet


@pytest.mark.skipif(shutil.which('bird') is None, reason='BIRD 2 is not installed here (the lab checks it with bird -p)')
def test_bird_accepts_what_the_template_writes(tmp_path):
    secrets = tmp_path / 'secrets.conf'
    secrets.write_text('define lvs_password_0 = "%s";\n' % SECRET)
    conf = tmp_path / 'bird.conf'
    cfg = config([WEB, WEB6], peers=[dict(PEER, bfd=True, password=SECRET), {'address': '2001:db8::1', 'as': 64512,
                                                                             'multihop': True}])
    conf.write_text(_render_bird(cfg, __bgp_secrets=str(secrets)))
    result = subprocess.run(['bird', '-p', '-c', str(conf)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
