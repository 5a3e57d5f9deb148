# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipvs_info parsing of ipvsadm -L --exact --stats/--rate/--thresholds (module_utils/ipvs_info.py)."""

from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import IpvsParseError, number
from ansible_collections.lvs.cluster.plugins.module_utils.ipvs_info import table_info

SAVE = """\
-A -t 192.0.2.100:80 -s wrr -p 300
-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 2
-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 1
-A -f 5 -6 -s rr
-a -f 5 -6 -r [2001:db8::11]:0 -i -w 1 --tun-type ipip
"""
THRESHOLDS = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn
  -> RemoteAddress:Port
TCP  192.0.2.100:80 wrr persistent 300
  -> 198.51.100.11:80             50         10         4          11
  -> 198.51.100.12:80             0          0          0          1
FWM  5 IPv6 rr
  -> [2001:db8::11]:0             0          0          2          0
"""
# "%-33s" service name, "  -> %-28s" real server, each --exact number "%*llu" with width max(9, len+1).
STATS = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  192.0.2.100:80                     17      120       95    10240 123456789012
  -> 198.51.100.11:80                   12       80       60     6400 100000000000
  -> 198.51.100.12:80                    5       40       35     3840 23456789012
FWM  5 IPv6                              3        9        0      540        0
  -> [2001:db8::11]:0                    3        9        0      540        0
"""
RATE = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS
  -> RemoteAddress:Port
TCP  192.0.2.100:80                      2       11        9      900     7200
  -> 198.51.100.11:80                    1        6        5      500     4000
  -> 198.51.100.12:80                    1        5        4      400     3200
FWM  5 IPv6                              0        1        0       60        0
  -> [2001:db8::11]:0                    0        1        0       60        0
"""


def test_table_info_combines_all_listings():
    services, rules = table_info(SAVE, THRESHOLDS, STATS, RATE)
    assert [(s['protocol'], s['address'], s['port'], s['fwmark'], s['family']) for s in services] == \
        [('tcp', '192.0.2.100', 80, None, 'inet'), (None, None, None, 5, 'inet6')]
    web = services[0]
    assert (web['scheduler'], web['persistence'], web['persistence_netmask']) == ('wrr', 300, None)
    assert web['stats'] == {'connections': 17, 'packets_in': 120, 'packets_out': 95, 'bytes_in': 10240,
                            'bytes_out': 123456789012, 'cps': 2, 'inpps': 11, 'outpps': 9, 'inbps': 900,
                            'outbps': 7200}
    rs1, rs2 = web['destinations']
    assert (rs1['address'], rs1['port'], rs1['forwarding'], rs1['weight']) == ('198.51.100.11', 80, 'dr', 2)
    assert (rs1['upper_threshold'], rs1['lower_threshold']) == (50, 10)
    assert (rs1['active_connections'], rs1['inactive_connections']) == (4, 11)
    assert rs1['stats']['bytes_out'] == 100000000000 and rs1['stats']['outbps'] == 4000
    assert (rs2['forwarding'], rs2['inactive_connections'], rs2['stats']['connections']) == ('nat', 1, 5)
    fw = services[1]['destinations'][0]
    assert (fw['address'], fw['port'], fw['forwarding'], fw['active_connections']) == ('2001:db8::11', 0, 'tun', 2)
    assert services[1]['stats']['inbps'] == 60
    assert '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 2 -x 50 -y 10\n' in rules


def test_empty_table():
    header = 'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n'
    assert table_info('', header, header, header) == ([], '')


@pytest.mark.parametrize('text, value', [('0', 0), ('123', 123), ('12K', 12000), ('3M', 3000000), ('7G', 7 * 10 ** 9)])
def test_number_also_reads_rounded_counters(text, value):
    assert number(text) == value


def test_short_stats_line_is_an_error():
    bad = STATS.replace('     5       40       35     3840 23456789012', '     5')
    with pytest.raises(IpvsParseError):
        table_info(SAVE, THRESHOLDS, bad, RATE)


def test_short_thresholds_line_is_an_error():
    bad = THRESHOLDS.replace('  -> 198.51.100.12:80             0          0          0          1',
                             '  -> 198.51.100.12:80             0          0')
    with pytest.raises(IpvsParseError, match='short --thresholds line for -t 192.0.2.100:80 198.51.100.12:80'):
        table_info(SAVE, bad, STATS, RATE)
