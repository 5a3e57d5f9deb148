# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing ipvsadm 1.31 output, rendering -R lines and planning diffs (module_utils/ipvs.py)."""

from __future__ import annotations

import random
import re

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs, ipvs_host, ipvs_info
from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import (
    IpvsParseError, dest_line, dest_lines, differences, live_table, parse_counters, parse_save, parse_thresholds, plan,
    render, save_lines, set_thresholds,
)
from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_spec import desired_table

# Every form ipvsadm -S -n prints (see the format notes in module_utils/ipvs.py).
SAVE = """\
-A -t 192.0.2.100:80 -s wrr -p 300 -M 255.255.255.0
-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 1
-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 0
-a -t 192.0.2.100:80 -r 198.51.100.13:80 -i -w 3 --tun-type ipip
-A -u [2001:db8::53]:53 -s sh -b sh-fallback,sh-port
-a -u [2001:db8::53]:53 -r [2001:db8::11]:5353 -m -w 65535
-A --sctp-service 192.0.2.7:9 -s mh -b mh-port
-A -t 192.0.2.101:443 -s lc -p 30 --pe sip -o -b flag-3
-A -f 1 -s rr -p 60
-a -f 1 -r 198.51.100.11:0 -g -w 1
-A -f 2 -6 -s wlc -p 120 -M 64
-a -f 2 -6 -r [2001:db8::11]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
"""

THRESHOLDS = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn
  -> RemoteAddress:Port
TCP  192.0.2.100:80 wrr persistent 300 mask 255.255.255.0
  -> 198.51.100.11:80             100        40         7          2
  -> 198.51.100.12:80             0          0          0          0
  -> 198.51.100.13:80             0          0          1          0
UDP  [2001:db8::53]:53 sh (sh-fallback,sh-port)
  -> [2001:db8::11]:5353          0          5          0          0
SCTP 192.0.2.7:9 mh (mh-port)
TCP  192.0.2.101:443 lc persistent 30 pe sip ops
FWM  1 rr persistent 60
  -> 198.51.100.11:0              0          0          0          0
FWM  2 IPv6 wlc persistent 120 mask 64
  -> [2001:db8::11]:0             0          0          3          9
"""

# --exact --stats of the same table: "%-33s" service, "  -> %-28s" real server, then the five numbers.
STATS = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  192.0.2.100:80                     17      120       95    10240 123456789012
  -> 198.51.100.11:80                   12       80       60     6400 100000000000
  -> 198.51.100.12:80                    5       40       35     3840 23456789012
  -> 198.51.100.13:80                    0        0        0        0        0
UDP  [2001:db8::53]:53                   1        1        1       60       60
  -> [2001:db8::11]:5353                 1        1        1       60       60
SCTP 192.0.2.7:9                         0        0        0        0        0
TCP  192.0.2.101:443                     0        0        0        0        0
FWM  1                                   0        0        0        0        0
  -> 198.51.100.11:0                     0        0        0        0        0
FWM  2 IPv6                              3        9        0      540        0
  -> [2001:db8::11]:0                    3        9        0      540        0
"""


def test_parse_save_every_form():
    t = parse_save(SAVE)
    assert sorted(t) == ['--sctp-service 192.0.2.7:9', '-f 1', '-f 2 -6', '-t 192.0.2.100:80',
                         '-t 192.0.2.101:443', '-u [2001:db8::53]:53']
    web = t['-t 192.0.2.100:80']
    assert (web['protocol'], web['address'], web['port'], web['family']) == ('tcp', '192.0.2.100', 80, 'inet')
    assert (web['scheduler'], web['persistence'], web['persistence_netmask']) == ('wrr', 300, '255.255.255.0')
    d = web['destinations']
    assert [(x['forwarding'], x['weight'], x['tunnel']) for x in (d['198.51.100.11:80'], d['198.51.100.12:80'],
                                                                  d['198.51.100.13:80'])] == \
        [('dr', 1, ''), ('nat', 0, ''), ('tun', 3, '')]
    dns = t['-u [2001:db8::53]:53']
    assert (dns['protocol'], dns['family'], dns['scheduler_flags']) == ('udp', 'inet6', ['sh-fallback', 'sh-port'])
    assert dns['persistence'] is None
    assert dns['destinations']['[2001:db8::11]:5353']['port'] == 5353
    assert t['--sctp-service 192.0.2.7:9']['scheduler_flags'] == ['mh-port']
    odd = t['-t 192.0.2.101:443']
    assert (odd['pe'], odd['one_packet'], odd['scheduler_flags']) == ('sip', True, ['flag-3'])
    fw = t['-f 1']
    assert (fw['fwmark'], fw['family'], fw['address'], fw['persistence']) == (1, 'inet', None, 60)
    assert fw['destinations']['198.51.100.11:0']['port'] == 0
    fw6 = t['-f 2 -6']
    assert (fw6['family'], fw6['persistence_netmask']) == ('inet6', '64')
    assert fw6['destinations']['[2001:db8::11]:0']['tunnel'] == '--tun-type gue --tun-port 6080 --tun-nocsum'


def set_thresholds_table(table, listing):
    """table with the thresholds of the --thresholds listing."""
    set_thresholds(table, parse_thresholds(listing))
    return table


def test_thresholds_and_active_connections_from_one_parse_of_the_listing():
    t = parse_save(SAVE)
    connections = {}
    assert set_thresholds(t, parse_thresholds(THRESHOLDS, connections)) == frozenset()  # nothing shared
    d = t['-t 192.0.2.100:80']['destinations']['198.51.100.11:80']
    assert (d['upper_threshold'], d['lower_threshold']) == (100, 40)
    assert t['-u [2001:db8::53]:53']['destinations']['[2001:db8::11]:5353']['lower_threshold'] == 5
    assert connections[('-t 192.0.2.100:80', '198.51.100.11:80')] == (7, 2)
    assert connections[('-f 2 -6', '[2001:db8::11]:0')] == (3, 9)
    # every real server of the table, and nothing else
    assert sorted(connections) == sorted((sid, did) for sid, svc in t.items() for did in svc['destinations'])


def test_listing_service_ids_match_save_ids():
    connections = {}
    parse_thresholds(THRESHOLDS, connections)
    save_ids = parse_save(SAVE)
    assert set(sid for sid, _did in connections) == set(sid for sid in save_ids if save_ids[sid]['destinations'])
    svcs, dests = parse_counters(STATS, ('a', 'b', 'c', 'd', 'e'))
    assert sorted(svcs) == sorted(save_ids)
    assert sorted(dests) == sorted(connections)


def test_one_parser_per_listing_format_shared_by_both_modules():
    """-S: parse_save (live_table in front of it), --thresholds: parse_thresholds, --stats/--rate:
    parse_counters; the ipvs module (ipvs_host) and ipvs_info use those, and no other is left."""
    assert ipvs_host.parse_thresholds is ipvs.parse_thresholds is ipvs_info.parse_thresholds
    assert ipvs_info.parse_save is ipvs.parse_save and ipvs_info.parse_counters is ipvs.parse_counters
    for gone in ('merge_thresholds', 'parse_list'):
        assert not hasattr(ipvs, gone), gone
    for gone in ('_columns', '_conns', 'number'):
        assert not hasattr(ipvs_info, gone), gone
    assert not hasattr(ipvs_host, 'parse_list')


def test_render_round_trip_is_stable_and_adds_thresholds():
    t = set_thresholds_table(parse_save(SAVE), THRESHOLDS)
    text = render(t)
    assert '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 1 -x 100 -y 40\n' in text
    assert '-A -t 192.0.2.101:443 -s lc -p 30 --pe sip -o -b flag-3\n' in text
    assert '-a -t 192.0.2.100:80 -r 198.51.100.13:80 -i -w 3\n' in text  # ipip is the default
    assert render(parse_save(text)) == render(parse_save(text))
    assert render(set_thresholds_table(parse_save(text), THRESHOLDS)) == text


def test_parse_counters():
    names = ('conns', 'inpkts', 'outpkts', 'inbytes', 'outbytes')
    svcs, dests = parse_counters(STATS, names)
    assert svcs['-t 192.0.2.100:80'] == dict(zip(names, (17, 120, 95, 10240, 123456789012)))
    assert svcs['-f 2 -6']['inbytes'] == 540 and svcs['-f 1']['conns'] == 0
    assert dests[('-t 192.0.2.100:80', '198.51.100.11:80')]['outbytes'] == 100000000000
    assert dests[('-u [2001:db8::53]:53', '[2001:db8::11]:5353')]['conns'] == 1
    assert parse_counters(STATS.replace('  17      120', '  17K     12M'), names)[0]['-t 192.0.2.100:80']['conns'] == 17000
    with pytest.raises(IpvsParseError, match='short line for -f 1 -r 198.51.100.11:0'):
        parse_counters(STATS.replace('  -> 198.51.100.11:0                     0        0        0        0        0',
                                     '  -> 198.51.100.11:0                     0'), names)
    with pytest.raises(IpvsParseError, match='not a counter'):
        parse_counters(STATS.replace('  17      120', '  17x     120'), names)


def test_render_sorts_like_ipvsadm():
    text = render(parse_save('-A -t 192.0.2.20:80 -s rr\n-A -t 192.0.2.3:80 -s rr\n'
                             '-a -t 192.0.2.3:80 -r 198.51.100.100:80 -g -w 1\n'
                             '-a -t 192.0.2.3:80 -r 198.51.100.9:80 -g -w 1\n'))
    assert text.splitlines() == ['-A -t 192.0.2.3:80 -s rr', '-a -t 192.0.2.3:80 -r 198.51.100.9:80 -g -w 1',
                                 '-a -t 192.0.2.3:80 -r 198.51.100.100:80 -g -w 1', '-A -t 192.0.2.20:80 -s rr']


@pytest.mark.parametrize('text', [
    '-A -t 192.0.2.1:80 -s rr --bogus\n',
    '-a -t 192.0.2.1:80 -r 198.51.100.1:80 -g -w 1\n',          # real server before its service
    '-A -t 192.0.2.1 -s rr\n',                                    # no port
    '-A -t example.org:80 -s rr\n',                               # not numeric (-n missing)
    '-A -t 192.0.2.1:80 -s rr -p\n',
])
def test_parse_save_rejects_unknown_output(text):
    with pytest.raises(IpvsParseError):
        parse_save(text)


def _desired(services):
    return desired_table(services)[0]


def test_plan_identical_is_empty():
    current = set_thresholds_table(parse_save(SAVE), THRESHOLDS)
    # the desired form of the same table, written the way a user would
    desired = set_thresholds_table(parse_save(render(current)), THRESHOLDS)
    p = plan(current, desired)
    assert p.commands == [] and p.draining == [] and p.thresholds_changed is False


def test_plan_flag_alias_needs_no_edit():
    current = parse_save('-A -t 192.0.2.1:80 -s sh -b sh-fallback\n')
    desired = _desired([{'address': '192.0.2.1', 'port': 80, 'scheduler': 'sh', 'scheduler_flags': ['flag-1']}])
    assert plan(current, desired).commands == []


def test_plan_absent_service_that_does_not_exist_is_noop():
    current = parse_save('-A -t 192.0.2.1:80 -s rr\n')
    desired, absent = desired_table([{'address': '192.0.2.9', 'port': 80, 'state': 'absent'}])
    assert plan(current, desired, absent).commands == []


def test_plan_drain_puts_deletes_last():
    current = parse_save('-A -t 192.0.2.1:80 -s rr\n'
                         '-a -t 192.0.2.1:80 -r 198.51.100.1:80 -g -w 4\n'
                         '-a -t 192.0.2.1:80 -r 198.51.100.2:80 -g -w 0\n')
    desired = _desired([{'address': '192.0.2.1', 'port': 80, 'scheduler': 'rr',
                         'destinations': [{'address': '198.51.100.3'}]}])
    p = plan(current, desired, drain=True)
    assert p.first == ['-e -t 192.0.2.1:80 -r 198.51.100.1:80 -g -w 0',   # already-0 weight needs no edit
                       '-a -t 192.0.2.1:80 -r 198.51.100.3:80 -g -w 1']
    assert p.last == ['-d -t 192.0.2.1:80 -r 198.51.100.1:80', '-d -t 192.0.2.1:80 -r 198.51.100.2:80']
    assert p.draining == [('-t 192.0.2.1:80', '198.51.100.1:80'), ('-t 192.0.2.1:80', '198.51.100.2:80')]
    assert sorted(p.after['-t 192.0.2.1:80']['destinations']) == ['198.51.100.3:80']


# ---------------------------------------------------------------- cheap reading: live_table & co.

USER_FORMS = [
    {'address': '192.0.2.100', 'port': 80, 'scheduler': 'wrr', 'persistence': 300, 'persistence_netmask': 24,
     'destinations': [{'address': '198.51.100.11', 'weight': 3, 'upper_threshold': 100, 'lower_threshold': 40},
                      {'address': '198.51.100.12', 'forwarding': 'tun', 'weight': 0},
                      {'address': '198.51.100.13', 'forwarding': 'nat', 'port': 8080}]},
    {'protocol': 'udp', 'address': '2001:DB8::53', 'port': 53, 'scheduler': 'sh', 'scheduler_flags': ['flag-2', 'flag-1'],
     'destinations': [{'address': '2001:db8:0::11', 'forwarding': 'nat', 'port': 5353, 'weight': 65535}]},
    {'protocol': 'sctp', 'address': '192.0.2.7', 'port': 9, 'scheduler': 'mh', 'scheduler_flags': ['flag-3']},
    {'fwmark': 1, 'scheduler': 'rr', 'persistence': 60, 'destinations': [{'address': '198.51.100.11'}]},
    {'fwmark': 2, 'family': 'inet6', 'persistence': 120, 'persistence_netmask': 64,
     'destinations': [{'address': '2001:db8::11', 'forwarding': 'tun'}]},
]


def _zero_thresholds(svc):
    return dict(svc, destinations=dict((did, dict(d, upper_threshold=0, lower_threshold=0))
                                       for did, d in svc['destinations'].items()))


@pytest.mark.parametrize('table', [parse_save(SAVE), _desired(USER_FORMS)], ids=['parsed', 'desired'])
def test_save_lines_parse_back_to_the_same_service(table):
    """The soundness of live_table(): equal lines imply an equal service (thresholds aside)."""
    for sid, svc in table.items():
        assert parse_save('\n'.join(save_lines(svc))) == {sid: _zero_thresholds(svc)}


def test_save_lines_are_what_ipvsadm_prints():
    for sid, svc in parse_save(SAVE).items():
        block = [line for line in SAVE.splitlines() if ipvs._block_key(line) == sid]
        assert sorted(block) == sorted(save_lines(svc)), sid


def test_live_table_takes_matching_services_without_parsing(monkeypatch):
    expected = parse_save(SAVE)
    lines = SAVE.splitlines()
    random.Random(4).shuffle(lines)  # the order ipvsadm prints in does not matter ...

    def boom(text):
        raise AssertionError('parsed: %r' % text)
    monkeypatch.setattr(ipvs, 'parse_save', boom)
    live, same = live_table('\n'.join(lines) + '\n', expected)
    assert same == set(expected) and live == expected
    assert all(live[sid] is expected[sid] for sid in expected)  # shared, not copied: that is the saving
    assert plan(live, expected, same=same).commands == [] and differences(expected, live, same=same) == []
    assert plan(live, expected).commands == [] and differences(expected, live) == []  # compared: equal too


def test_live_table_parses_only_services_that_differ(monkeypatch):
    expected = parse_save(SAVE)
    text = SAVE.replace('-r 198.51.100.12:80 -m -w 0', '-r 198.51.100.12:80 -m -w 9')
    parsed = []
    real = ipvs.parse_save
    monkeypatch.setattr(ipvs, 'parse_save', lambda t: parsed.append(t) or real(t))
    live, same = live_table(text, expected)
    assert parsed == ['\n'.join(l for l in SAVE.splitlines() if '192.0.2.100:80' in l).replace('-w 0', '-w 9')]
    assert live == real(text)
    assert same == set(expected) - {'-t 192.0.2.100:80'}
    assert live['-t 192.0.2.100:80'] is not expected['-t 192.0.2.100:80']
    assert plan(live, expected, same=same).commands == ['-e -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 0']


@pytest.mark.parametrize('text', [
    SAVE.replace('-a -f 1 -r', 'ipvsadm -a -f 1 -r'),            # -R syntax -S does not print: other key
    SAVE.replace('-A -t 192.0.2.101:443 -s lc', '-A  -t 192.0.2.101:443 -s lc'),
    '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 1\n' + SAVE,  # out of order: parse_save's error
    SAVE + '-A -t 192.0.2.1 -s rr\n',
    SAVE + 'ipvsadm -a -f 1 -r 198.51.100.12:0 -g -w 1\n',        # the '-f 1' block alone matches ...
    SAVE + 'ipvsadm -A -f 1 -s rr -p 60\n',                        # ... and here too
    'ipvsadm -A -f 1 -s wlc\n' + SAVE,                             # a service named twice: the last one wins
])
def test_live_table_is_parse_save_whenever_lines_do_not_match(text):
    try:
        want = parse_save(text)
    except IpvsParseError as e:
        with pytest.raises(IpvsParseError, match=re.escape(str(e))):
            live_table(text, parse_save(SAVE))
    else:
        expected = parse_save(SAVE)
        live, same = live_table(text, expected)
        assert live == want
        assert all(live[sid] == expected[sid] for sid in same)
        assert plan(live, expected, same=same).commands == plan(want, expected).commands


def test_live_table_without_expected_is_parse_save():
    assert live_table(SAVE) == (parse_save(SAVE), set())


def test_parse_thresholds_keeps_only_the_set_ones():
    assert parse_thresholds(THRESHOLDS) == {('-t 192.0.2.100:80', '198.51.100.11:80'): (100, 40),
                                            ('-u [2001:db8::53]:53', '[2001:db8::11]:5353'): (0, 5)}
    with pytest.raises(IpvsParseError, match='short --thresholds line for -f 1 198.51.100.11:0'):
        parse_thresholds(THRESHOLDS.replace('  -> 198.51.100.11:0              0          0          0          0',
                                            '  -> 198.51.100.11:0              0          0'))


def test_set_thresholds_copies_shared_services_and_says_which_are_still_the_same():
    full = set_thresholds_table(parse_save(SAVE), THRESHOLDS)
    expected = parse_save(SAVE)  # all thresholds 0
    before = render(expected)
    live, same = live_table(SAVE, expected)
    assert same == set(expected)
    still = set_thresholds(live, parse_thresholds(THRESHOLDS), same)
    assert live == full
    assert render(expected) == before  # not modified
    assert still == set(expected) - {'-t 192.0.2.100:80', '-u [2001:db8::53]:53'}  # those have thresholds
    assert live['-t 192.0.2.100:80'] is not expected['-t 192.0.2.100:80']
    assert live['-f 1'] is expected['-f 1']  # no thresholds either side: shared
    assert plan(live, expected, same=still).commands == plan(full, expected).commands != []
    live2, same2 = live_table(SAVE, live)
    assert set_thresholds(live2, parse_thresholds(THRESHOLDS), same2) == set(live)
    assert all(live2[sid] is live[sid] for sid in live)


def test_set_thresholds_of_services_not_in_same_changes_them_in_place():
    """Only `same` says what is shared: a service not in it is set in place, whatever it is."""
    expected = parse_save(SAVE)
    live = dict(expected)  # the very same service objects, but not declared `same`
    assert set_thresholds(live, parse_thresholds(THRESHOLDS)) == frozenset()
    assert expected['-t 192.0.2.100:80']['destinations']['198.51.100.11:80']['upper_threshold'] == 100


def test_plan_and_differences_skip_the_ids_in_same_and_compare_everything_else(monkeypatch):
    """They rest on `same` (what live_table() matched), not on object identity."""
    current = set_thresholds_table(parse_save(SAVE), THRESHOLDS)
    desired = parse_save(render(current))  # equal values, other objects
    set_thresholds_table(desired, THRESHOLDS)
    compared = []
    real = ipvs.service_attrs
    monkeypatch.setattr(ipvs, 'service_attrs', lambda svc: compared.append(svc['id']) or real(svc))
    assert plan(current, desired, same=set(desired)).commands == [] and compared == []
    assert differences(desired, current, same=set(desired)) == [] and compared == []
    assert plan(current, current).commands == [] and sorted(set(compared)) == sorted(current)  # not skipped
    del compared[:]
    assert differences(current, current) == [] and sorted(set(compared)) == sorted(current)
    # `same` is believed: an id in it is not compared even when the services differ
    desired['-f 1']['scheduler'] = 'lc'
    assert plan(current, desired, same={'-f 1'}).commands == []
    assert plan(current, desired).commands == ['-E -f 1 -s lc -p 60']


def test_save_lines_and_rules_come_from_dest_lines():
    svc = parse_save(SAVE)['-f 2 -6']
    svc['destinations']['[2001:db8::11]:0']['upper_threshold'] = 7
    items = list(svc['destinations'].items())
    assert save_lines(svc)[1:] == dest_lines('-a', '-f 2 -6', items, saved=True) == \
        ['-a -f 2 -6 -r [2001:db8::11]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum']  # no -x: -S has none
    assert dest_line('-a', '-f 2 -6', items[0][1]) == dest_lines('-a', '-f 2 -6', items)[0] == \
        '-a -f 2 -6 -r [2001:db8::11]:0 -i -w 1 -x 7 --tun-type gue --tun-port 6080 --tun-nocsum'
    tun = parse_save(SAVE)['-t 192.0.2.100:80']['destinations']['198.51.100.13:80']
    assert dest_lines('-a', '-t 192.0.2.100:80', [('198.51.100.13:80', tun)], saved=True) == \
        ['-a -t 192.0.2.100:80 -r 198.51.100.13:80 -i -w 3 --tun-type ipip']
    assert dest_line('-e', '-t 192.0.2.100:80', tun, weight=0) == '-e -t 192.0.2.100:80 -r 198.51.100.13:80 -i -w 0'
    assert tun['weight'] == 3


def test_plan_says_when_thresholds_change():
    current = parse_save('-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.1:80 -g -w 1\n')

    def changed(dests, scheduler='rr'):
        return plan(current, _desired([{'address': '192.0.2.1', 'port': 80, 'scheduler': scheduler,
                                        'destinations': dests}])).thresholds_changed
    assert not changed([{'address': '198.51.100.1', 'weight': 5}, {'address': '198.51.100.2'}], 'wrr')
    assert not changed([])
    assert changed([{'address': '198.51.100.1', 'upper_threshold': 3}])
    assert changed([{'address': '198.51.100.1'}, {'address': '198.51.100.2', 'lower_threshold': 1}])
    current['-t 192.0.2.1:80']['destinations']['198.51.100.1:80']['lower_threshold'] = 4
    assert changed([{'address': '198.51.100.1'}])
    assert not changed([{'address': '198.51.100.1', 'weight': 2, 'lower_threshold': 4}])
    new_service = _desired([{'address': '192.0.2.2', 'port': 80, 'destinations': [{'address': '198.51.100.1'}]}])
    assert not plan(current, new_service).thresholds_changed
    new_service['-t 192.0.2.2:80']['destinations']['198.51.100.1:80']['upper_threshold'] = 5
    assert plan(current, new_service).thresholds_changed
