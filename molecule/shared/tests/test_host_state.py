# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host state of a lab cluster against literal expectations (testinfra over the docker connection).

Run by molecule/shared/host_state.yml with LVS_EXPECT_FILE = {host: expectations}. Each host is read with ONE
command (playbooks/files/host_facts.py, which lvs.cluster.status reads too), every test then compares one kind
of fact, so a failure names host and fact.
Expectations per host (every key optional; what is listed is compared exactly):
  addresses: {ifname: [address/prefix, ...]}     the interface holds exactly these
  held_addresses: [address/prefix, ...]          some interface holds each of these
  absent_addresses: [address/prefix, ...]        no interface holds any of these
  links_up: [ifname, ...]                        these interfaces are up
  sysctl: {name: value}
  arptables: [rule, ...]                         exactly these rules (arptables-legacy -L -n, stripped)
  nft_arp: [rule, ...]                           exactly these rules in nftables' arp tables (nft list ruleset)
  nft_inet: [rule, ...]                          exactly these rules in nftables' inet tables (fwmark marking)
  ipvs_size: N                                   IPVS's connection table has N buckets (/proc/net/ip_vs)
  default_route: [gateway, ...]
  units: {unit: active|inactive|...}
  files: {path: true|false|mode}                 exists or not; a mode string ("0600") also checks the mode
  contains: {path: [text, ...]}                  the file holds each text
  lacks: {path: [text, ...]}                     the file holds none of them (e.g. a secret)
  ipvs: [line, ...]                              exactly this table (ipvsadm -S -n), in any order
"""

import json
import os
from pathlib import Path

import pytest

EXPECT = json.loads(Path(os.environ['LVS_EXPECT_FILE']).read_text())
testinfra_hosts = ['docker://%s' % name for name in sorted(EXPECT)]
FACTS_SCRIPT = (Path(__file__).parents[3] / 'playbooks' / 'files' / 'host_facts.py').read_text()
_facts = {}


def host_name(host):
    return host.backend.name


def expect(host, key):
    value = EXPECT[host_name(host)].get(key)
    if value is None:
        pytest.skip('%s: no %s expected' % (host_name(host), key))
    return value


def facts(host):
    name = host_name(host)
    if name not in _facts:
        want = EXPECT[name]
        wanted = {'sysctl': sorted(want.get('sysctl', {})), 'units': sorted(want.get('units', {})),
                  'files': sorted(want.get('files', {})),
                  'texts': sorted(set(want.get('contains', {})) | set(want.get('lacks', {})))}
        out = host.check_output('python3 -c %s %s', FACTS_SCRIPT, json.dumps(wanted))
        _facts[name] = json.loads(out)
    return _facts[name]


def test_addresses(host):
    held = facts(host)['addresses']
    for ifname, addresses in expect(host, 'addresses').items():
        assert sorted(held.get(ifname, [])) == sorted(addresses), '%s %s' % (host_name(host), ifname)


def test_held_addresses(host):
    held = [a for addresses in facts(host)['addresses'].values() for a in addresses]
    assert sorted(set(expect(host, 'held_addresses')) - set(held)) == []


def test_absent_addresses(host):
    held = [a for addresses in facts(host)['addresses'].values() for a in addresses]
    assert sorted(set(expect(host, 'absent_addresses')) & set(held)) == []


def test_links_up(host):
    up = facts(host)['up']
    assert [name for name in expect(host, 'links_up') if not up.get(name)] == []


def test_sysctl(host):
    assert facts(host)['sysctl'] == {**facts(host)['sysctl'], **expect(host, 'sysctl')}


def test_arptables(host):
    rules = [line.strip() for line in facts(host)['arptables'].splitlines() if line.startswith('-j ')]
    assert rules == expect(host, 'arptables')


def nft_rules(host, family):
    rules, table_family = [], None
    for line in facts(host)['nftables'].splitlines():
        words = line.split()
        if line.startswith('table '):
            table_family = words[1]
        elif table_family == family and words and words[0] not in ('chain', 'type', '}'):
            rules.append(line.strip())
    return rules


def test_nft_arp(host):
    assert nft_rules(host, 'arp') == expect(host, 'nft_arp')


def test_nft_inet(host):
    assert nft_rules(host, 'inet') == expect(host, 'nft_inet')


def test_ipvs_size(host):
    assert facts(host)['ipvs_size'] == expect(host, 'ipvs_size')


def test_default_route(host):
    assert facts(host)['default_route'] == expect(host, 'default_route')


def test_units(host):
    assert facts(host)['units'] == expect(host, 'units')


def test_files(host):
    seen = facts(host)['files']
    # true/false: exists or not; a mode string: exists with that mode.
    found = {path: (seen[path]['mode'] if isinstance(want, str) else seen[path]['exists'])
             for path, want in expect(host, 'files').items()}
    assert found == expect(host, 'files')


def test_contains(host):
    texts = facts(host)['texts']
    missing = {path: [t for t in wanted if t not in (texts[path] or '')]
               for path, wanted in expect(host, 'contains').items()}
    assert {path: gone for path, gone in missing.items() if gone} == {}


def test_lacks(host):
    texts = facts(host)['texts']
    found = {path: [t for t in unwanted if t in (texts[path] or '')] for path, unwanted in expect(host, 'lacks').items()}
    # Name the file, not the text: it may be a secret.
    assert sorted(path for path, there in found.items() if there) == []


def test_ipvs(host):
    # The kernel lists real servers newest first: the order of lines carries no meaning.
    assert sorted(facts(host)['ipvs'].splitlines()) == sorted(expect(host, 'ipvs'))
