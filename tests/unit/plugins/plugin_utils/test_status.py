# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status view (plugin_utils/status.py) against hand-written host readings: a healthy cluster has no problem,
and each kind of disagreement is named once, with host and field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ansible_collections.lvs.cluster.plugins.plugin_utils.model import normalise_services
from ansible_collections.lvs.cluster.plugins.plugin_utils import status
from ansible_collections.lvs.cluster.plugins.plugin_utils.status import BGP_MAINTENANCE_MARK, cluster_status, read_hosts

GROUPS = {'lvs_directors': ['lb1', 'lb2'], 'lvs_real_servers': ['web1', 'web2'], 'all': ['lb1', 'lb2', 'web1', 'web2']}
HOSTVARS = {'lb1': {'ansible_host': '192.0.2.1'}, 'lb2': {'ansible_host': '192.0.2.2'},
            'web1': {'ansible_host': '192.0.2.11', 'lvs_real_server_weight': 1},
            'web2': {'ansible_host': '192.0.2.12', 'lvs_real_server_weight': 2}}
SERVICES = normalise_services([{'name': 'www', 'vip': '192.0.2.100', 'port': 80, 'scheduler': 'wrr',
                                'real_servers': [{'group': 'lvs_real_servers'}]}], HOSTVARS, GROUPS)


def dest(address, weight, active=0, inactive=0):
    return {'address': address, 'port': 80, 'forwarding': 'dr', 'weight': weight, 'upper_threshold': 0,
            'lower_threshold': 0, 'active_connections': active, 'inactive_connections': inactive,
            'stats': {'cps': 3}}


def table(*dests):
    return [{'protocol': 'tcp', 'address': '192.0.2.100', 'port': 80, 'fwmark': None, 'family': 'inet',
             'scheduler': 'wrr', 'destinations': list(dests)}]


def director(ha, addresses, dests, keepalived='active', held_out=None):
    return {'ha': ha, 'services': table(*dests), 'held_out': held_out or [],
            'facts': {'addresses': {'lo': ['127.0.0.1/8'], 'eth0': addresses}, 'units': {'keepalived.service': keepalived},
                      'dirs': {'/held': held_out}}}


def real_server(addresses, arp_ignore='1', arp_announce='2', arptables='', nftables=''):
    return {'facts': {'addresses': {'lo': ['127.0.0.1/8'] + addresses, 'eth0': []}, 'arptables': arptables,
                      'nftables': nftables,
                      'sysctl': {'net.ipv4.conf.all.arp_ignore': arp_ignore, 'net.ipv4.conf.all.arp_announce': arp_announce},
                      'default_route': ['192.0.2.126']}}


def healthy():
    directors = {'lb1': director('keepalived', ['192.0.2.1/24', '192.0.2.100/32'], [dest('192.0.2.11', 1, 4, 9), dest('192.0.2.12', 2)]),
                 'lb2': director('keepalived', ['192.0.2.2/24'], [dest('192.0.2.11', 1), dest('192.0.2.12', 2)])}
    real_servers = {'web1': real_server(['192.0.2.100/32']),
                    'web2': real_server(['192.0.2.100/32'], '0', '0', '-j DROP -d 192.0.2.100\n')}
    return directors, real_servers


def test_a_healthy_cluster_has_no_problem_and_shows_every_part():
    directors, real_servers = healthy()
    out = cluster_status(SERVICES, directors, real_servers)
    assert out['problems'] == []
    text = '\n'.join(out['lines'])
    assert '  lb1                  keepalived  MASTER           192.0.2.100 (eth0)' in text
    assert '  lb2                  keepalived  BACKUP           -' in text
    assert '  www  tcp 192.0.2.100:80  wrr  dr' in text
    assert '    192.0.2.11:80 (web1)           lb1                       1       4        9      3  ok' in text
    assert '  web1                 www (dr)                 192.0.2.100 (lo)                   sysctl' in text
    assert '  web2                 www (dr)                 192.0.2.100 (lo)                   arptables' in text
    assert out['lines'][-1] == 'PROBLEMS: none, the cluster is as declared'


def test_arp_hidden_by_nftables_is_shown_and_is_no_problem():
    directors, real_servers = healthy()
    real_servers['web2'] = real_server(['192.0.2.100/32'], '0', '0', nftables=(
        'table arp lvs_realserver {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n'
        '\t\tarp daddr ip 192.0.2.100 drop\n\t}\n}\n'))
    out = cluster_status(SERVICES, directors, real_servers)
    assert out['problems'] == []
    assert '  web2                 www (dr)                 192.0.2.100 (lo)                   nftables' in out['lines']


@pytest.mark.parametrize('arptables, nftables, method', [
    ('-j DROP -d 192.0.2.100\n', '\t\tarp daddr ip 192.0.2.101 drop\n', 'arptables+nftables'),
    ('-j DROP -d 192.0.2.100\n-j DROP -d 192.0.2.101\n', '', 'arptables'),
    ('', 'arp daddr ip 192.0.2.100 drop\narp daddr ip 192.0.2.101 drop\n', 'nftables'),
    ('-j DROP -d 192.0.2.100\n', '', 'none'),
])
def test_arp_rules_are_read_per_vip(arptables, nftables, method):
    # a switch between the two rule kinds, half done, hides each VIP with one of them
    facts = real_server([], '0', '0', arptables=arptables, nftables=nftables)['facts']
    assert status._arp_method(facts, ['192.0.2.100', '192.0.2.101']) == method


def test_a_drained_server_is_shown_and_is_no_problem():
    directors, real_servers = healthy()
    for name in directors:
        directors[name]['services'][0]['destinations'][1]['weight'] = 0
        directors[name]['held_out'] = ['192.0.2.12']
    out = cluster_status(SERVICES, directors, real_servers)
    assert out['problems'] == []
    assert [line for line in out['lines'] if line.endswith('drained')] == [
        '    192.0.2.12:80 (web2)           lb1                       0       0        0      3  drained',
        '    192.0.2.12:80 (web2)           lb2                       0       0        0      3  drained']


@pytest.mark.parametrize('break_it, problems', [
    # keepalived's health check took web2 out on both directors
    (lambda d, r: [d[n]['services'][0]['destinations'].pop() for n in d],
     ['lb1: www 192.0.2.12:80 (web2): out: health check failed', 'lb2: www 192.0.2.12:80 (web2): out: health check failed',
      ]),
    # a weight changed by hand on one director: wrong weight, and the directors disagree
    (lambda d, r: d['lb2']['services'][0]['destinations'][0].update(weight=5),
     ['lb2: www 192.0.2.11:80 (web1): weight 5, declared 1',
      'service www: the directors disagree (lb1: 192.0.2.11:80 w1, 192.0.2.12:80 w2; lb2: 192.0.2.11:80 w5, 192.0.2.12:80 w2)']),
    # the VIP on both directors (split brain)
    (lambda d, r: d['lb2']['facts']['addresses']['eth0'].append('192.0.2.100/32'),
     ['VIP 192.0.2.100 is held by 2 directors at once: lb1, lb2']),
    # on none, and keepalived stopped on one
    (lambda d, r: (d['lb1']['facts']['addresses']['eth0'].pop(), d['lb1']['facts']['units'].update({'keepalived.service': 'inactive'})),
     ['lb1: keepalived is inactive', 'VIP 192.0.2.100 is held by no director']),
    # a real server added by hand, and a whole service nobody declared
    (lambda d, r: (d['lb1']['services'][0]['destinations'].append(dest('192.0.2.13', 1)),
                   d['lb1']['services'].append(dict(table()[0], port=443))),
     ['lb1: www 192.0.2.13:80 is in the table but not declared',
      'service www: the directors disagree (lb1: 192.0.2.11:80 w1, 192.0.2.12:80 w2, 192.0.2.13:80 w1; lb2: 192.0.2.11:80 w1, 192.0.2.12:80 w2)',
      'lb1: service tcp 192.0.2.100:443 is in the table but not declared']),
    # a real server lost its VIP, another answers ARP for it
    (lambda d, r: (r['web1']['facts']['addresses']['lo'].pop(), r['web2']['facts'].update(arptables='')),
     ['web1: VIP 192.0.2.100 is not on lo', 'web2: answers ARP for 192.0.2.100 (no ARP sysctls, arptables or nftables rules)']),
    # a rule for another VIP that starts with the same digits hides nothing
    (lambda d, r: r['web2']['facts'].update(arptables='-j DROP -d 192.0.2.1000\n'),
     ['web2: answers ARP for 192.0.2.100 (no ARP sysctls, arptables or nftables rules)']),
    # the service is missing on one director
    (lambda d, r: d['lb2'].update(services=[]),
     ['lb2: service www (tcp 192.0.2.100:80) is not in the table']),
])
def test_each_disagreement_is_named(break_it, problems):
    directors, real_servers = healthy()
    break_it(directors, real_servers)
    assert cluster_status(SERVICES, directors, real_servers)['problems'] == problems


def test_standalone_director_without_its_vip_and_a_missing_server():
    directors = {'lb1': director('none', ['192.0.2.1/24'], [dest('192.0.2.11', 1)])}
    out = cluster_status(SERVICES, directors, healthy()[1])
    assert out['problems'] == ['lb1: does not hold VIP 192.0.2.100', 'VIP 192.0.2.100 is held by no director',
                               'lb1: www 192.0.2.12:80 (web2): missing']
    assert '  lb1                  none        standalone       -' in out['lines']


def test_read_hosts_takes_what_the_playbook_registered_and_names_hosts_not_read():
    directors, real_servers = healthy()
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars['lb1'].update(lvs_director_ha='keepalived', __status_table={'services': directors['lb1']['services']},
                           __status_facts={'stdout': json.dumps(directors['lb1']['facts'])})
    hostvars['lb2'].update(__status_table={'failed': True, 'msg': 'unreachable'})
    hostvars['web1'].update(__status_facts={'stdout': json.dumps(real_servers['web1']['facts'])})
    got_directors, got_real_servers, unread = read_hosts(hostvars, GROUPS, '/held')
    assert got_directors == {'lb1': directors['lb1']}
    assert got_real_servers == {'web1': real_servers['web1']}
    assert unread == ['lb2', 'web2']
    out = cluster_status(SERVICES, got_directors, got_real_servers, unread)
    assert out['problems'][:2] == ['lb2: could not be read (unreachable or failed), so it is left out',
                                   'web2: could not be read (unreachable or failed), so it is left out']


def test_keepalived_sorry_server_in_the_table_is_named_not_flagged_as_undeclared():
    services = normalise_services([{'name': 'www', 'vip': '192.0.2.100', 'port': 80, 'scheduler': 'wrr',
                                    'real_servers': [{'group': 'lvs_real_servers'}],
                                    'sorry_server': {'address': '127.0.0.1', 'port': 80}}], HOSTVARS, GROUPS)
    directors, real_servers = healthy()
    for name in directors:  # every web down: keepalived put the sorry server in
        directors[name]['services'][0]['destinations'] = [dict(dest('127.0.0.1', 1), port=80)]
    out = cluster_status(services, directors, real_servers)
    assert [line for line in out['lines'] if 'sorry server' in line] == [
        '    127.0.0.1:80                   lb1                       1       0        0      3  sorry server (no real server is up)',
        '    127.0.0.1:80                   lb2                       1       0        0      3  sorry server (no real server is up)']
    assert out['problems'] == ['lb1: www 192.0.2.11:80 (web1): out: health check failed',
                               'lb1: www 192.0.2.12:80 (web2): out: health check failed',
                               'lb2: www 192.0.2.11:80 (web1): out: health check failed',
                               'lb2: www 192.0.2.12:80 (web2): out: health check failed']


def test_keepalived_director_without_vips_is_not_called_master():
    services = normalise_services([{'name': 'marked', 'fwmark': 7, 'real_servers': [{'group': 'lvs_real_servers'}]}],
                                  HOSTVARS, GROUPS)
    directors = {'lb1': director('keepalived', ['192.0.2.1/24'], [])}
    directors['lb1']['services'] = []
    out = cluster_status(services, directors, {})
    assert '  lb1                  keepalived  keepalived active -' in out['lines']


def bgp_director(addresses, dests, keepalived='active', bird='active'):
    info = director('bgp', [], dests, keepalived)
    info['facts']['addresses']['lo'] += addresses
    info['facts']['units']['lvs-bird.service'] = bird
    return info


def test_bgp_directors_all_hold_the_vip_and_announce_it():
    _directors, real_servers = healthy()
    both = [dest('192.0.2.11', 1), dest('192.0.2.12', 2)]
    directors = {'lb1': bgp_director(['192.0.2.100/32'], both), 'lb2': bgp_director(['192.0.2.100/32'], both)}
    out = cluster_status(SERVICES, directors, real_servers)
    assert out['problems'] == []
    assert '  lb1                  bgp         announcing       192.0.2.100 (lo)' in '\n'.join(out['lines'])


def test_a_bgp_director_in_maintenance_says_so_and_is_no_problem():
    _directors, real_servers = healthy()
    both = [dest('192.0.2.11', 1), dest('192.0.2.12', 2)]
    directors = {'lb1': bgp_director(['192.0.2.100/32'], both), 'lb2': bgp_director(['192.0.2.100/32'], both)}
    directors['lb1']['facts']['texts'] = {'/etc/lvs-cluster/bird/bird.conf': 'filter lvs_export4 {\n'
                                          '    %s; its sessions stay up.\n    reject;\n}\n' % BGP_MAINTENANCE_MARK}
    directors['lb2']['facts']['texts'] = {'/etc/lvs-cluster/bird/bird.conf': 'filter lvs_export4 {\n    accept;\n}\n'}
    out = cluster_status(SERVICES, directors, real_servers)
    assert out['problems'] == []
    assert '  lb1                  bgp         maintenance      192.0.2.100 (lo)' in out['lines']
    assert '  lb2                  bgp         announcing       192.0.2.100 (lo)' in out['lines']


def test_the_maintenance_mark_is_what_the_bird_template_writes():
    template = (Path(__file__).parents[4] / 'roles' / 'bgp' / 'templates' / 'bird.conf.j2').read_text()
    assert '{% if b.maintenance %}\n    ' + BGP_MAINTENANCE_MARK + ';' in template


def test_a_bgp_director_that_cannot_announce_or_lacks_the_vip_is_named():
    _directors, real_servers = healthy()
    directors = {'lb1': bgp_director(['192.0.2.100/32'], [dest('192.0.2.11', 0), dest('192.0.2.12', 2)], bird='inactive'),
                 'lb2': bgp_director([], [dest('192.0.2.11', 1), dest('192.0.2.12', 2)], keepalived='failed')}
    out = cluster_status(SERVICES, directors, real_servers)
    assert out['problems'] == [
        'lb1: lvs-bird inactive',
        'lb2: keepalived failed',
        'lb2: does not hold VIP 192.0.2.100',
        'lb1: www 192.0.2.11:80 (web1): failed (weight 0)',
        # with bgp a disagreement sends the same flow to different real servers
        'service www: the directors disagree (lb1: 192.0.2.11:80 w0, 192.0.2.12:80 w2; lb2: 192.0.2.11:80 w1, '
        '192.0.2.12:80 w2)',
    ]
