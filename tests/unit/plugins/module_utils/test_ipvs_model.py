# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing ipvsadm 1.31 output, rendering -R lines and planning diffs (module_utils/ipvs.py)."""

from __future__ import annotations

import random
import re

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs
from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import (
    IpvsParseError, differences, live_table, merge_thresholds, parse_list, parse_save, parse_thresholds, plan,
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


def test_thresholds_and_active_connections_from_listing():
    t = parse_save(SAVE)
    active = merge_thresholds(t, THRESHOLDS)
    d = t['-t 192.0.2.100:80']['destinations']['198.51.100.11:80']
    assert (d['upper_threshold'], d['lower_threshold']) == (100, 40)
    assert t['-u [2001:db8::53]:53']['destinations']['[2001:db8::11]:5353']['lower_threshold'] == 5
    assert active[('-t 192.0.2.100:80', '198.51.100.11:80')] == 7
    assert active[('-f 2 -6', '[2001:db8::11]:0')] == 3


def test_parse_list_service_ids_match_save_ids():
    ids = [sid for sid, _cols, _d in parse_list(THRESHOLDS)]
    assert sorted(ids) == sorted(parse_save(SAVE))


def test_render_round_trip_is_stable_and_adds_thresholds():
    t = parse_save(SAVE)
    merge_thresholds(t, THRESHOLDS)
    text = render(t)
    assert '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 1 -x 100 -y 40\n' in text
    assert '-A -t 192.0.2.101:443 -s lc -p 30 --pe sip -o -b flag-3\n' in text
    assert '-a -t 192.0.2.100:80 -r 198.51.100.13:80 -i -w 3\n' in text  # ipip is the default
    assert render(parse_save(text)) == render(parse_save(text))
    again = parse_save(text)
    merge_thresholds(again, THRESHOLDS)
    assert render(again) == text


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
    current = parse_save(SAVE)
    merge_thresholds(current, THRESHOLDS)
    # the desired form of the same table, written the way a user would
    desired = parse_save(render(current))
    merge_thresholds(desired, THRESHOLDS)
    p = plan(current, desired)
    assert p.commands == [] and p.draining == []


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
    live = live_table('\n'.join(lines) + '\n', expected)
    assert all(live[sid] is expected[sid] for sid in expected) and len(live) == len(expected)
    assert plan(live, expected).commands == [] and differences(expected, live) == []


def test_live_table_parses_only_services_that_differ(monkeypatch):
    expected = parse_save(SAVE)
    text = SAVE.replace('-r 198.51.100.12:80 -m -w 0', '-r 198.51.100.12:80 -m -w 9')
    parsed = []
    real = ipvs.parse_save
    monkeypatch.setattr(ipvs, 'parse_save', lambda t: parsed.append(t) or real(t))
    live = live_table(text, expected)
    assert parsed == ['\n'.join(l for l in SAVE.splitlines() if '192.0.2.100:80' in l).replace('-w 0', '-w 9')]
    assert live == real(text)
    assert live['-t 192.0.2.100:80'] is not expected['-t 192.0.2.100:80']
    assert plan(live, expected).commands == ['-e -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 0']


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
        assert live_table(text, parse_save(SAVE)) == want


def test_parse_thresholds_keeps_only_the_set_ones():
    assert parse_thresholds(THRESHOLDS) == {('-t 192.0.2.100:80', '198.51.100.11:80'): (100, 40),
                                            ('-u [2001:db8::53]:53', '[2001:db8::11]:5353'): (0, 5)}
    with pytest.raises(IpvsParseError, match='short --thresholds line for -f 1 198.51.100.11:0'):
        parse_thresholds(THRESHOLDS.replace('  -> 198.51.100.11:0              0          0          0          0',
                                            '  -> 198.51.100.11:0              0          0'))


def test_set_thresholds_gives_the_same_table_as_merge_thresholds_and_copies_shared_services():
    merged = parse_save(SAVE)
    merge_thresholds(merged, THRESHOLDS)
    expected = parse_save(SAVE)  # all thresholds 0
    before = render(expected)
    live = set_thresholds(live_table(SAVE, expected), parse_thresholds(THRESHOLDS), expected)
    assert live == merged
    assert render(expected) == before  # not modified
    assert live['-t 192.0.2.100:80'] is not expected['-t 192.0.2.100:80']
    assert live['-f 1'] is expected['-f 1']  # no thresholds either side: shared
    again = set_thresholds(live_table(SAVE, live), parse_thresholds(THRESHOLDS), live)
    assert all(again[sid] is live[sid] for sid in live)


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
