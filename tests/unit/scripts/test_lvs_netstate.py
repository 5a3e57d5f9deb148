# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/common/files/lvs-netstate run for real, each test in network and mount namespaces of its own.

A test's namespaces are held by a `sleep` started with `unshare --net --mount`; every command of the test
runs in them through `nsenter`, and a namespace is used only once it is seen to differ from this
process's own, so nothing on this machine's network changes. /sys/module is a tmpfs there, with a
fake modprobe on PATH that logs its argument and creates /sys/module/NAME.

Needs root, util-linux (unshare, nsenter), iproute2, arptables-legacy and nft (scripts/install-system-deps.sh
installs them). Without them the tests fail, saying what is missing: a skipped test would prove nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / 'roles' / 'common' / 'files' / 'lvs-netstate'
UNIT = ROOT / 'roles' / 'common' / 'files' / 'lvs-netstate@.service'
ARPTABLES = '/usr/sbin/arptables-legacy'

# The namespace every test starts from: vx0 (up, addresses, default routes) - vx1 (up), and vx2 - vx3
# both down (vx3 is the link the tests bring up). net.ipv4.conf.all.arp_announce starts at 1, not at
# the kernel's 0, so that restoring it is told apart from resetting it. No IPv6 link-local addresses
# or DAD, and the carrier is waited for: nothing changes on its own after the setup.
SETUP = '''
mount -t tmpfs tmpfs /sys/module
mkdir /sys/module/ip_vs
echo 1 > /proc/sys/net/ipv6/conf/default/addr_gen_mode
echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad
ip link set lo up
ip link add vx0 type veth peer name vx1
ip link add vx2 type veth peer name vx3
ip link set vx0 up
ip link set vx1 up
ip addr add 198.51.100.2/24 dev vx0
ip addr add 2001:db8:1::2/64 dev vx0 nodad
ip route add default via 198.51.100.9 dev vx0 proto static metric 100
ip -6 route add default via 2001:db8:1::9 dev vx0 proto static
echo 1 > /proc/sys/net/ipv4/conf/all/arp_announce
i=0
until [ "$(ip -o link show up | grep -c 'vx[01]@vx[01]: .* state UP ')" = 2 ] && ! ip addr | grep -q tentative; do
    i=$((i + 1))
    [ $i -lt 500 ] || { echo "vx0/vx1: no carrier after 5 s" >&2; exit 1; }
    sleep 0.01
done
'''
FAKE_MODPROBE = '''#!/bin/sh
echo "$*" >> "${0%/*}/modprobe.log"
mkdir "/sys/module/$1"
'''
SYSCTLS = ('net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.arp_announce', 'net.ipv4.conf.lo.arp_ignore',
           'net.ipv4.conf.lo.arp_announce', 'net.ipv4.ip_forward')

FULL = '''
# lvs.cluster: a real server of two DR services
module ip_vs
sysctl net.ipv4.conf.all.arp_ignore 1
sysctl net.ipv4.conf.all.arp_announce 2
sysctl net.ipv4.conf.lo.arp_ignore 1

link vx3
arp-hide 192.0.2.40 198.51.100.2
arp-hide 192.0.2.41 198.51.100.2
address lo 192.0.2.40/32
address lo 192.0.2.41/32
address lo 2001:db8::40/128
route 198.51.100.1
route 2001:db8:1::1
'''
FULL_APPLIED = [
    '~ sysctl net.ipv4.conf.all.arp_ignore 0 -> 1',
    '~ sysctl net.ipv4.conf.all.arp_announce 1 -> 2',
    '~ sysctl net.ipv4.conf.lo.arp_ignore 0 -> 1',
    '+ link vx3 up',
    '+ arp-hide chains LVS_rs_IN LVS_rs_OUT',
    '+ arp-hide 192.0.2.40 198.51.100.2',
    '+ arp-hide 192.0.2.41 198.51.100.2',
    '+ address lo 192.0.2.40/32',
    '+ address lo 192.0.2.41/32',
    '+ address lo 2001:db8::40/128',
    '+ route -4 default via 198.51.100.1',
    '+ route -6 default via 2001:db8:1::1',
]
FULL_STOPPED = [
    '- address lo 192.0.2.40/32',
    '- address lo 192.0.2.41/32',
    '- address lo 2001:db8::40/128',
    '- route -4 default via 198.51.100.1, restored: default via 198.51.100.9 dev vx0 proto 4 metric 100',
    '- route -6 default via 2001:db8:1::1, restored: default via 2001:db8:1::9 dev vx0 proto 4 metric 1024 pref medium',
    '- arp-hide 192.0.2.40 198.51.100.2',
    '- arp-hide 192.0.2.41 198.51.100.2',
    '- arp-hide chains LVS_rs_IN LVS_rs_OUT',
    '- link vx3 down',
    '- sysctl net.ipv4.conf.all.arp_ignore restored to 0',
    '- sysctl net.ipv4.conf.all.arp_announce restored to 1',
    '- sysctl net.ipv4.conf.lo.arp_ignore restored to 0',
]

ROUTES4_BEFORE = [{'dst': 'default', 'gateway': '198.51.100.9', 'dev': 'vx0', 'protocol': 'static', 'metric': 100,
                   'flags': []}]
ROUTES4_FULL = [{'dst': 'default', 'gateway': '198.51.100.1', 'dev': 'vx0', 'flags': []}] + ROUTES4_BEFORE
ROUTES6_BEFORE = [{'dst': 'default', 'gateway': '2001:db8:1::9', 'dev': 'vx0', 'protocol': 'static', 'metric': 1024,
                   'flags': [], 'pref': 'medium'}]
ROUTES6_FULL = [{'dst': 'default', 'gateway': '2001:db8:1::1', 'dev': 'vx0', 'metric': 1024, 'flags': [],
                 'pref': 'medium'}]
LO_BEFORE = ['127.0.0.1/8', '::1/128']
LO_FULL = ['127.0.0.1/8', '192.0.2.40/32', '192.0.2.41/32', '2001:db8::40/128', '::1/128']

ARP_EMPTY = '''\
Chain INPUT (policy ACCEPT)

Chain OUTPUT (policy ACCEPT)

Chain FORWARD (policy ACCEPT)'''
ARP_FULL = '''\
Chain INPUT (policy ACCEPT)
-j LVS_rs_IN

Chain OUTPUT (policy ACCEPT)
-j LVS_rs_OUT

Chain FORWARD (policy ACCEPT)

Chain LVS_rs_IN (1 references)
-j DROP -d 192.0.2.40
-j DROP -d 192.0.2.41

Chain LVS_rs_OUT (1 references)
-j mangle -s 192.0.2.40 --mangle-ip-s 198.51.100.2
-j mangle -s 192.0.2.41 --mangle-ip-s 198.51.100.2'''


def _missing_requirements():
    problems = []
    if os.geteuid() != 0:
        problems.append('root (it makes network namespaces and changes addresses, routes and arptables in them)')
    for tool in ('unshare', 'nsenter', 'ip', 'sh'):
        if shutil.which(tool) is None:
            problems.append('%s on PATH' % tool)
    if not os.access(ARPTABLES, os.X_OK):
        problems.append('%s (Debian package arptables: run scripts/install-system-deps.sh)' % ARPTABLES)
    if shutil.which('nft') is None:
        problems.append('nft (Debian package nftables: run scripts/install-system-deps.sh)')
    if not problems:
        probe = subprocess.run(['unshare', '--net', '--mount', 'true'], capture_output=True, text=True, check=False)
        if probe.returncode != 0:
            problems.append('unshare --net --mount to work: %s' % probe.stderr.strip())
    return problems


class Namespace:
    """Network and mount namespaces held by a sleep of ours, and lvs-netstate run in them."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.run_dir = tmp_path / 'run'
        self.bin = tmp_path / 'bin'
        self.bin.mkdir()
        modprobe = self.bin / 'modprobe'
        modprobe.write_text(FAKE_MODPROBE)
        modprobe.chmod(0o755)
        self.conf = tmp_path / 'etc' / 'rs.conf'
        self.conf.parent.mkdir()
        self.holder = subprocess.Popen(['unshare', '--net', '--mount', '--propagation', 'private', 'sleep', '600'],
                                       stdin=subprocess.DEVNULL)
        try:
            self._wait_until_unshared()
            self.sh(SETUP)
        except BaseException:
            self.close()
            raise

    def _wait_until_unshared(self):
        deadline = time.monotonic() + 10
        own = [os.readlink('/proc/self/ns/%s' % kind) for kind in ('net', 'mnt')]
        while True:
            if self.holder.poll() is not None:
                pytest.fail('unshare --net --mount exited with status %s' % self.holder.returncode)
            try:
                theirs = [os.readlink('/proc/%d/ns/%s' % (self.holder.pid, kind)) for kind in ('net', 'mnt')]
            except OSError:
                theirs = own
            if theirs[0] != own[0] and theirs[1] != own[1]:
                return
            if time.monotonic() > deadline:
                pytest.fail('unshare did not make new namespaces within 10 s')
            time.sleep(0.01)

    def close(self):
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()

    def _enter(self, argv, env=None, check=True):
        result = subprocess.run(['nsenter', '--target', str(self.holder.pid), '--net', '--mount', '--'] + argv,
                                capture_output=True, text=True, env=env, timeout=60, check=False,
                                stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            pytest.fail('%s: exit %d\nstdout: %s\nstderr: %s'
                        % (' '.join(argv), result.returncode, result.stdout, result.stderr))
        return result

    def sh(self, script):
        """Run a shell script in the namespaces; it must succeed. Returns its stdout."""
        return self._enter(['sh', '-euc', script]).stdout

    def netstate(self, *args, conf=None):
        """lvs-netstate ARGS CONF: the CompletedProcess (any exit status)."""
        env = dict(os.environ, LVS_NETSTATE_RUN=str(self.run_dir), PATH='%s:%s' % (self.bin, os.environ['PATH']))
        return self._enter([str(SCRIPT)] + list(args) + [str(conf or self.conf)], env=env, check=False)

    def write(self, text, conf=None):
        (conf or self.conf).write_text(textwrap.dedent(text))

    def apply(self, *opts, conf=None):
        """lvs-netstate apply OPTS CONF, which must succeed with nothing on stderr: its stdout lines."""
        result = self.netstate('apply', *opts, conf=conf)
        assert (result.returncode, result.stderr) == (0, ''), result
        return result.stdout.splitlines()

    def stop(self, conf=None):
        result = self.netstate('stop', conf=conf)
        assert (result.returncode, result.stderr) == (0, ''), result
        return result.stdout.splitlines()

    def status(self, conf=None):
        """(exit status, stdout lines) of lvs-netstate status CONF."""
        result = self.netstate('status', conf=conf)
        assert result.stderr == '', result
        return result.returncode, result.stdout.splitlines()

    # What the namespace really has.
    def addresses(self, dev='lo'):
        info = json.loads(self.sh('ip -j addr show dev %s' % dev))
        return ['%s/%d' % (a['local'], a['prefixlen']) for a in info[0]['addr_info']]

    def default_routes(self, family):
        return json.loads(self.sh('ip -j -%d route show default' % family))

    def sysctl(self, key):
        return self.sh('cat /proc/sys/%s' % key.replace('.', '/')).strip()

    def link_up(self, dev):
        return 'UP' in json.loads(self.sh('ip -j link show dev %s' % dev))[0]['flags']

    def arptables(self):
        lines = [line.rstrip() for line in self.sh('%s -L -n' % ARPTABLES).splitlines()]
        return '\n'.join(lines).strip('\n')

    def nft(self):
        """The namespace's whole nftables ruleset, as nft lists it."""
        return self.sh('nft list ruleset')

    def modprobe_log(self):
        log = self.bin / 'modprobe.log'
        return log.read_text().splitlines() if log.exists() else []

    def snapshot(self):
        """All the namespace's links and addresses, routes, the tests' sysctls, arptables rules and modules."""
        links = json.loads(self.sh('ip -j addr'))
        for link in links:
            del link['qdisc']  # the kernel attaches one at a link's first up, for good
        return {
            'addr': links,
            'route4': json.loads(self.sh('ip -j -4 route show table all')),
            'route6': json.loads(self.sh('ip -j -6 route show table all')),
            'sysctl': {key: self.sysctl(key) for key in SYSCTLS},
            'arptables': self.arptables(),
            'nft': self.nft(),
            'modules': sorted(self.sh('ls /sys/module').split()),
        }


@pytest.fixture
def ns(tmp_path):
    problems = _missing_requirements()
    if problems:
        pytest.fail('the lvs-netstate tests need ' + '; '.join(problems), pytrace=False)
    namespace = Namespace(tmp_path)
    yield namespace
    namespace.close()


def test_the_namespace_is_not_this_machines(ns):
    # Guards every other test: what they change is somewhere else.
    assert ns.addresses('vx0')[:2] == ['198.51.100.2/24', '2001:db8:1::2/64']
    assert subprocess.run(['ip', 'link', 'show', 'dev', 'vx0'], capture_output=True, check=False).returncode != 0


def test_apply_from_nothing(ns):
    ns.write(FULL)
    assert ns.apply() == FULL_APPLIED
    assert ns.addresses() == LO_FULL
    assert [ns.sysctl(key) for key in SYSCTLS] == ['1', '2', '1', '0', '0']
    assert ns.link_up('vx3')
    assert ns.arptables() == ARP_FULL
    assert ns.default_routes(4) == ROUTES4_FULL
    assert ns.default_routes(6) == ROUTES6_FULL
    assert ns.modprobe_log() == []  # ip_vs is in /sys/module already


def test_second_apply_prints_nothing(ns):
    ns.write(FULL)
    ns.apply()
    after_first = ns.snapshot()
    assert ns.apply() == []
    assert ns.snapshot() == after_first
    assert ns.status() == (0, [])


def test_dropping_an_address_removes_just_that(ns):
    ns.write(FULL)
    ns.apply()
    ns.write(FULL.replace('address lo 192.0.2.41/32\n', ''))
    assert ns.apply() == ['- address lo 192.0.2.41/32']
    assert ns.addresses() == ['127.0.0.1/8', '192.0.2.40/32', '2001:db8::40/128', '::1/128']
    assert ns.arptables() == ARP_FULL
    assert ns.apply() == []


def test_dropping_a_sysctl_restores_the_recorded_value(ns):
    ns.write(FULL)
    ns.apply()
    ns.write(FULL.replace('sysctl net.ipv4.conf.all.arp_announce 2\n', ''))
    assert ns.apply() == ['- sysctl net.ipv4.conf.all.arp_announce restored to 1']
    assert [ns.sysctl(key) for key in SYSCTLS] == ['1', '1', '1', '0', '0']
    assert ns.addresses() == LO_FULL


def test_a_sysctl_already_set_is_recorded_silently(ns):
    ns.sh('echo 1 > /proc/sys/net/ipv4/conf/lo/arp_announce')
    ns.write('sysctl net.ipv4.conf.lo.arp_announce 1\n')
    assert ns.apply() == []
    ns.write('sysctl net.ipv4.conf.lo.arp_announce 2\n')
    assert ns.apply() == ['~ sysctl net.ipv4.conf.lo.arp_announce 1 -> 2']
    ns.write('# nothing\n')
    assert ns.apply() == ['- sysctl net.ipv4.conf.lo.arp_announce restored to 1']
    assert ns.sysctl('net.ipv4.conf.lo.arp_announce') == '1'


def test_a_sysctl_of_several_digits_is_read_set_and_restored_whole(ns):
    # the shell's own read would see only the first byte of a /proc/sys file (dash reads a byte at a time)
    ns.sh('echo 64 > /proc/sys/net/ipv4/ip_default_ttl')
    ns.write('sysctl net.ipv4.ip_default_ttl 128\n')
    assert ns.apply() == ['~ sysctl net.ipv4.ip_default_ttl 64 -> 128']
    assert ns.sysctl('net.ipv4.ip_default_ttl') == '128'
    assert ns.apply() == []
    ns.write('sysctl net.ipv4.ip_default_ttl 12\n')
    assert ns.apply() == ['~ sysctl net.ipv4.ip_default_ttl 128 -> 12']
    ns.write('# nothing\n')
    assert ns.apply() == ['- sysctl net.ipv4.ip_default_ttl restored to 64']
    assert ns.sysctl('net.ipv4.ip_default_ttl') == '64'


def test_dropping_the_routes_restores_the_previous_defaults(ns):
    ns.write(FULL)
    ns.apply()
    ns.write(FULL.replace('route 198.51.100.1\n', '').replace('route 2001:db8:1::1\n', ''))
    assert ns.apply() == FULL_STOPPED[3:5]
    assert ns.default_routes(4) == ROUTES4_BEFORE
    assert ns.default_routes(6) == ROUTES6_BEFORE
    assert ns.addresses() == LO_FULL


def test_a_new_gateway_keeps_the_route_saved_first(ns):
    ns.write('route 198.51.100.1\n')
    assert ns.apply() == ['+ route -4 default via 198.51.100.1']
    ns.write('route 198.51.100.3\n')
    assert ns.apply() == ['+ route -4 default via 198.51.100.3']
    assert ns.default_routes(4) == [{'dst': 'default', 'gateway': '198.51.100.3', 'dev': 'vx0', 'flags': []}] \
        + ROUTES4_BEFORE
    assert ns.stop() == ['- route -4 default via 198.51.100.3, restored: default via 198.51.100.9 dev vx0 proto 4 '
                         'metric 100']
    assert ns.default_routes(4) == ROUTES4_BEFORE


def test_a_route_where_there_was_none_is_removed_again(ns):
    ns.sh('ip -6 route del default')
    ns.write('route 2001:db8:1::1\n')
    assert ns.apply() == ['+ route -6 default via 2001:db8:1::1']
    assert ns.default_routes(6) == ROUTES6_FULL
    assert ns.stop() == ['- route -6 default via 2001:db8:1::1, restored: none']
    assert ns.default_routes(6) == []


def test_dropping_an_arp_hide_line(ns):
    ns.write(FULL)
    ns.apply()
    ns.write(FULL.replace('arp-hide 192.0.2.41 198.51.100.2\n', ''))
    assert ns.apply() == ['- arp-hide 192.0.2.41 198.51.100.2']
    assert ns.arptables() == ARP_FULL.replace('-j DROP -d 192.0.2.41\n', '').replace(
        '\n-j mangle -s 192.0.2.41 --mangle-ip-s 198.51.100.2', '')
    assert ns.addresses() == LO_FULL


def test_no_arp_hide_line_left_removes_the_chains(ns):
    ns.write(FULL)
    ns.apply()
    ns.write(re.sub(r'arp-hide .*\n', '', FULL))
    assert ns.apply() == FULL_STOPPED[5:8]
    assert ns.arptables() == ARP_EMPTY


def test_a_new_arp_source_replaces_the_old_one(ns):
    ns.write(FULL)
    ns.apply()
    ns.write(FULL.replace('arp-hide 192.0.2.40 198.51.100.2', 'arp-hide 192.0.2.40 198.51.100.3'))
    assert ns.apply() == ['~ arp-hide 192.0.2.40 198.51.100.2 -> 198.51.100.3']
    assert ns.arptables() == ARP_FULL.replace('-j mangle -s 192.0.2.40 --mangle-ip-s 198.51.100.2\n', '') \
        + '\n-j mangle -s 192.0.2.40 --mangle-ip-s 198.51.100.3'


NFT = FULL.replace('arp-hide ', 'arp-nft ')
NFT_APPLIED = [line.replace('arp-hide ', 'arp-nft ') for line in FULL_APPLIED
               if line != '+ arp-hide chains LVS_rs_IN LVS_rs_OUT']
NFT_APPLIED.insert(NFT_APPLIED.index('+ arp-nft 192.0.2.40 198.51.100.2'), '+ arp-nft table arp lvs_rs')
NFT_TABLE = """\
table arp lvs_rs {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
%s\t}

\tchain output {
\t\ttype filter hook output priority filter; policy accept;
%s\t}
}
"""


def nft_table(*pairs):
    """The listing of table arp lvs_rs hiding each (VIP, SOURCE) pair, as nft prints it."""
    return NFT_TABLE % (''.join('\t\tarp daddr ip %s drop\n' % pair[0] for pair in pairs),
                        ''.join('\t\tarp saddr ip %s arp saddr ip set %s\n' % pair for pair in pairs))


NFT_FULL = nft_table(('192.0.2.40', '198.51.100.2'), ('192.0.2.41', '198.51.100.2'))


def test_arp_nft_from_nothing_and_back(ns):
    before = ns.snapshot()
    ns.write(NFT)
    assert ns.status() == (1, NFT_APPLIED)
    assert ns.snapshot() == before
    assert ns.apply() == NFT_APPLIED
    assert ns.nft() == NFT_FULL
    assert ns.arptables() == ARP_EMPTY
    assert ns.apply() == []
    assert ns.status() == (0, [])
    stopped = [line.replace('arp-hide ', 'arp-nft ') for line in FULL_STOPPED]
    stopped[stopped.index('- arp-nft chains LVS_rs_IN LVS_rs_OUT')] = '- arp-nft table arp lvs_rs'
    assert ns.stop() == stopped
    assert ns.snapshot() == before


def test_arp_nft_keeps_the_users_tables(ns):
    ns.sh("nft add table inet user; nft add chain inet user c '{ type filter hook input priority 0; }'; "
          "nft add rule inet user c tcp dport 22 accept")
    user = ns.nft()
    ns.write(NFT)
    ns.apply()
    assert ns.nft() == user + NFT_FULL
    ns.stop()
    assert ns.nft() == user


def test_arp_nft_dropping_and_changing_pairs(ns):
    ns.write(NFT)
    ns.apply()
    ns.write(NFT.replace('arp-nft 192.0.2.41 198.51.100.2\n', '')
             .replace('arp-nft 192.0.2.40 198.51.100.2', 'arp-nft 192.0.2.40 198.51.100.3'))
    assert ns.apply() == ['~ arp-nft 192.0.2.40 198.51.100.2 -> 198.51.100.3', '- arp-nft 192.0.2.41 198.51.100.2']
    assert ns.nft() == nft_table(('192.0.2.40', '198.51.100.3'))
    assert ns.addresses() == LO_FULL


def test_arp_nft_keep_stale_hides_a_dropped_vip_until_the_stale_run(ns):
    ns.write(NFT)
    ns.apply()
    ns.write(NFT.replace('192.0.2.41', '192.0.2.42'))
    removed = ['- address lo 192.0.2.41/32', '- arp-nft 192.0.2.41 198.51.100.2']
    # what is kept is printed on "= " lines, each as the full apply prints it when it takes it away
    assert ns.apply('--keep-stale') == ['+ arp-nft 192.0.2.42 198.51.100.2', '+ address lo 192.0.2.42/32'] + [
        '= ' + line for line in removed]
    assert ns.nft() == nft_table(('192.0.2.40', '198.51.100.2'), ('192.0.2.41', '198.51.100.2'),
                                 ('192.0.2.42', '198.51.100.2'))
    assert ns.apply() == removed
    assert ns.nft() == nft_table(('192.0.2.40', '198.51.100.2'), ('192.0.2.42', '198.51.100.2'))


def test_arp_nft_table_changed_by_someone_else_is_written_again(ns):
    ns.write(NFT)
    ns.apply()
    for spoil in ('nft flush chain arp lvs_rs input', 'nft delete table arp lvs_rs', 'nft flush ruleset',
                  'nft add rule arp lvs_rs output accept'):
        ns.sh(spoil)
        assert ns.status() == (1, ['~ arp-nft table arp lvs_rs written again (changed or removed by someone else)'])
        assert ns.apply() == ['~ arp-nft table arp lvs_rs written again (changed or removed by someone else)']
        assert ns.nft() == NFT_FULL


def test_switching_from_nft_to_sysctls_with_the_vips_kept(ns):
    ns.write(NFT)
    ns.apply()
    ns.write(re.sub(r'arp-nft .*\n', '', NFT))
    assert ns.apply() == ['- arp-nft 192.0.2.40 198.51.100.2', '- arp-nft 192.0.2.41 198.51.100.2',
                          '- arp-nft table arp lvs_rs']
    assert ns.addresses() == LO_FULL


def test_switching_between_arptables_and_nft_never_unhides(ns):
    ns.write(FULL)
    ns.apply()
    ns.write(NFT)
    assert ns.apply() == ['+ arp-nft table arp lvs_rs', '+ arp-nft 192.0.2.40 198.51.100.2',
                          '+ arp-nft 192.0.2.41 198.51.100.2', '- arp-hide 192.0.2.40 198.51.100.2',
                          '- arp-hide 192.0.2.41 198.51.100.2', '- arp-hide chains LVS_rs_IN LVS_rs_OUT']
    assert (ns.arptables(), ns.nft()) == (ARP_EMPTY, NFT_FULL)
    ns.write(FULL)
    assert ns.apply() == FULL_APPLIED[4:7] + ['- arp-nft 192.0.2.40 198.51.100.2', '- arp-nft 192.0.2.41 198.51.100.2',
                                              '- arp-nft table arp lvs_rs']
    assert (ns.arptables(), ns.nft()) == (ARP_FULL, '')


def test_arp_nft_that_fails_stops_before_the_vip_and_stop_still_cleans_up(ns):
    ns.write(NFT)
    nft = ns.bin / 'nft'
    nft.write_text('#!/bin/sh\nexit 1\n')
    nft.chmod(0o755)
    result = ns.netstate('apply')
    assert result.returncode == 3
    assert 'nft: cannot write table arp lvs_rs' in result.stderr
    assert '+ arp-nft' not in result.stdout
    assert ns.addresses() == LO_BEFORE
    # What it was about to write is recorded, so a later stop removes whatever nft did manage.
    assert (ns.run_dir / 'rs' / 'nft').read_text() == '192.0.2.40 198.51.100.2\n192.0.2.41 198.51.100.2\n'
    nft.unlink()
    ns.sh("nft add table arp lvs_rs")
    assert '- arp-nft table arp lvs_rs' in ns.stop()
    assert ns.nft() == ''


def test_arp_nft_table_left_without_state_is_removed_by_stop(ns):
    ns.write(NFT)
    ns.apply()
    for name in ('nft', 'nft.list'):
        (ns.run_dir / 'rs' / name).unlink()
    assert '- arp-nft table arp lvs_rs' in ns.stop()
    assert ns.nft() == ''


def test_arp_nft_keep_stale_with_no_arp_nft_line_left_still_repairs_the_table(ns):
    ns.write(NFT)
    ns.apply()
    ns.write(re.sub(r'arp-nft .*\n', '', NFT))
    kept = ['= - arp-nft 192.0.2.40 198.51.100.2', '= - arp-nft 192.0.2.41 198.51.100.2',
            '= - arp-nft table arp lvs_rs']
    assert ns.apply('--keep-stale') == kept
    ns.sh('nft flush ruleset')
    assert ns.apply('--keep-stale') == [
        '~ arp-nft table arp lvs_rs written again (changed or removed by someone else)'] + kept
    assert ns.nft() == NFT_FULL
    assert ns.apply() == [line[2:] for line in kept]


def failing_address_removal(ns):
    ip = ns.bin / 'ip'
    ip.write_text('#!/bin/sh\n[ "$1 $2" = "addr del" ] && exit 1\nexec %s "$@"\n' % shutil.which('ip'))
    ip.chmod(0o755)
    return ip


def test_a_vip_whose_address_cannot_be_removed_stays_hidden(ns):
    ns.write(NFT)
    ns.apply()
    ns.write(NFT.replace('arp-nft 192.0.2.41 198.51.100.2\n', '').replace('address lo 192.0.2.41/32\n', ''))
    ip = failing_address_removal(ns)
    result = ns.netstate('apply')
    assert result.returncode == 3
    assert '192.0.2.41/32' in ns.addresses()
    assert ns.nft() == NFT_FULL
    assert 'kept hidden' in result.stderr
    ip.unlink()
    assert ns.apply() == ['- address lo 192.0.2.41/32', '- arp-nft 192.0.2.41 198.51.100.2']
    assert ns.nft() == nft_table(('192.0.2.40', '198.51.100.2'))


def test_a_vip_whose_address_cannot_be_removed_keeps_its_arptables_rules(ns):
    ns.write(FULL)
    ns.apply()
    ns.write(FULL.replace('arp-hide 192.0.2.41 198.51.100.2\n', '').replace('address lo 192.0.2.41/32\n', ''))
    failing_address_removal(ns)
    result = ns.netstate('apply')
    assert result.returncode == 3
    assert ns.arptables() == ARP_FULL
    assert 'arp-hide: 192.0.2.41 kept hidden' in result.stderr


def test_keep_stale_adds_and_changes_only(ns):
    ns.write(FULL)
    ns.apply()
    reduced = (FULL.replace('address lo 192.0.2.41/32', 'address lo 192.0.2.42/32')
               .replace('arp-hide 192.0.2.41 198.51.100.2', 'arp-hide 192.0.2.42 198.51.100.2')
               .replace('sysctl net.ipv4.conf.all.arp_announce 2\n', '')
               .replace('sysctl net.ipv4.conf.lo.arp_ignore 1', 'sysctl net.ipv4.conf.lo.arp_ignore 2')
               .replace('link vx3\n', '').replace('route 2001:db8:1::1\n', ''))
    ns.write(reduced)
    stale = [
        '- address lo 192.0.2.41/32',
        '- route -6 default via 2001:db8:1::1, restored: default via 2001:db8:1::9 dev vx0 proto 4 metric 1024 '
        'pref medium',
        '- arp-hide 192.0.2.41 198.51.100.2',
        '- link vx3 down',
        '- sysctl net.ipv4.conf.all.arp_announce restored to 1',
    ]
    assert ns.apply('--keep-stale') == [
        '~ sysctl net.ipv4.conf.lo.arp_ignore 1 -> 2',
        '+ arp-hide 192.0.2.42 198.51.100.2',
        '+ address lo 192.0.2.42/32',
    ] + ['= ' + line for line in stale]
    assert ns.addresses() == ['127.0.0.1/8', '192.0.2.40/32', '192.0.2.41/32', '192.0.2.42/32', '2001:db8::40/128',
                              '::1/128']
    assert ns.sysctl('net.ipv4.conf.all.arp_announce') == '2'
    assert ns.link_up('vx3')
    assert ns.default_routes(6) == ROUTES6_FULL
    assert '-j DROP -d 192.0.2.41' in ns.arptables()
    assert ns.apply('--keep-stale') == ['= ' + line for line in stale]
    assert ns.status() == (1, stale)
    assert ns.apply() == stale
    assert ns.addresses() == ['127.0.0.1/8', '192.0.2.40/32', '192.0.2.42/32', '2001:db8::40/128', '::1/128']
    assert ns.default_routes(6) == ROUTES6_BEFORE
    assert not ns.link_up('vx3')
    assert ns.status() == (0, [])


def test_stop_restores_everything(ns):
    before = ns.snapshot()
    ns.write(FULL)
    ns.apply()
    assert ns.stop() == FULL_STOPPED
    assert ns.snapshot() == before
    assert ns.addresses() == LO_BEFORE
    assert ns.default_routes(4) == ROUTES4_BEFORE
    assert ns.default_routes(6) == ROUTES6_BEFORE
    assert ns.arptables() == ARP_EMPTY
    assert ns.sysctl('net.ipv4.conf.all.arp_announce') == '1'
    assert not (ns.run_dir / 'rs').exists()
    assert ns.stop() == []
    # State is forgotten: the next apply records the values of now, and stop needs no FILE.
    ns.apply()
    ns.conf.unlink()
    assert ns.stop() == FULL_STOPPED
    assert ns.snapshot() == before


def test_an_address_not_added_by_the_script_is_never_removed(ns):
    ns.sh('ip addr add 192.0.2.40/32 dev lo')
    ns.write('address lo 192.0.2.40/32\naddress lo 192.0.2.41/32\n')
    assert ns.apply() == ['+ address lo 192.0.2.41/32']
    ns.write('address lo 192.0.2.41/32\n')
    assert ns.apply() == []
    assert ns.addresses() == ['127.0.0.1/8', '192.0.2.40/32', '192.0.2.41/32', '::1/128']
    ns.write('address lo 192.0.2.40/32\n')
    assert ns.apply() == ['- address lo 192.0.2.41/32']
    assert ns.stop() == []
    assert ns.addresses() == ['127.0.0.1/8', '192.0.2.40/32', '::1/128']


def test_a_link_that_was_up_is_left_up(ns):
    ns.write('link vx0\n')
    assert ns.apply() == []
    assert ns.stop() == []
    assert ns.link_up('vx0')


def test_a_missing_module_is_loaded_once(ns):
    ns.write('module ip_vs\nmodule ipip\n')
    assert ns.apply() == ['+ module ipip']
    assert ns.modprobe_log() == ['ipip']
    assert ns.apply() == []
    assert ns.stop() == []
    assert ns.modprobe_log() == ['ipip']
    assert 'ipip' in ns.snapshot()['modules']


def test_module_parameters_at_load_and_a_note_when_loaded_otherwise(ns):
    ns.write('module ip_vs_wrr conn_tab_bits=20 other=a,b\n')
    assert ns.apply() == ['+ module ip_vs_wrr conn_tab_bits=20 other=a,b']
    assert ns.modprobe_log() == ['ip_vs_wrr conn_tab_bits=20 other=a,b']
    # ip_vs is loaded already (SETUP), with the kernel's default.
    ns.sh('mkdir /sys/module/ip_vs/parameters && echo 12 > /sys/module/ip_vs/parameters/conn_tab_bits')
    ns.write('module ip_vs conn_tab_bits=20\n')
    note = '! module ip_vs conn_tab_bits=12 (loaded so; conn_tab_bits=20 is asked for the next load of ip_vs)'
    assert ns.status() == (0, [note])
    assert ns.apply() == [note]
    ns.sh('echo 20 > /sys/module/ip_vs/parameters/conn_tab_bits')
    assert ns.apply() == []
    assert ns.modprobe_log() == ['ip_vs_wrr conn_tab_bits=20 other=a,b']
    ns.write('module ip_vs conn_tab_bits=20 hidden=1\n')
    assert ns.apply() == ['! module ip_vs hidden=(unknown) (loaded so; hidden=1 is asked for the next load of ip_vs)']


def test_a_released_address_is_forgotten_and_left_in_place(ns):
    ns.write(FULL)
    ns.apply()
    released = FULL.replace('address lo 192.0.2.40/32', 'release lo 192.0.2.40/32')
    ns.write(released)
    assert ns.status() == (1, ['~ address lo 192.0.2.40/32 released, left in place for its next owner'])
    assert ns.apply() == ['~ address lo 192.0.2.40/32 released, left in place for its next owner']
    assert ns.addresses() == LO_FULL
    assert ns.apply() == []
    assert '- address lo 192.0.2.40/32' not in ns.stop()
    assert ns.addresses() == ['127.0.0.1/8', '192.0.2.40/32', '::1/128']
    # A release of an address this script never added changes nothing.
    ns.write('release lo 192.0.2.77/32\n')
    assert ns.apply() == []


def test_ipv6_spellings_are_one_address(ns):
    ns.write('address lo 2001:DB8:0:0::0040/128\n')
    assert ns.apply() == ['+ address lo 2001:db8::40/128']
    ns.write('address lo 2001:db8::40/128\n')
    assert ns.apply() == []
    assert ns.addresses() == ['127.0.0.1/8', '2001:db8::40/128', '::1/128']
    ns.write('address lo ::ffff:192.0.2.7/128\naddress lo 2001:db8:0:1:0:0:0:1/128\n')
    assert ns.apply() == ['+ address lo ::ffff:192.0.2.7/128', '+ address lo 2001:db8:0:1::1/128',
                          '- address lo 2001:db8::40/128']
    ns.write('route 2001:DB8:1:0:0:0:0:0001\n')
    assert ns.apply() == ['+ route -6 default via 2001:db8:1::1', '- address lo ::ffff:192.0.2.7/128',
                          '- address lo 2001:db8:0:1::1/128']
    assert ns.apply() == []
    assert ns.default_routes(6) == ROUTES6_FULL


def test_an_ipv6_vip_is_never_the_source_of_the_hosts_own_packets(ns):
    # Source address selection (RFC 6724 rule 8, as Linux counts it) prefers the address whose prefix matches
    # more of the destination, counting at most the address's own prefix length: a /128 VIP beats the host's /64,
    # and a director would reach its real servers from the VIP (they would answer themselves). Deprecated, it
    # still takes traffic but is never picked; it is usable at once (nodad).
    ns.write('address vx0 2001:db8:1::40/128\n')
    assert ns.apply() == ['+ address vx0 2001:db8:1::40/128']
    vip = [a for a in json.loads(ns.sh('ip -j addr show dev vx0'))[0]['addr_info'] if a['local'] == '2001:db8:1::40']
    assert [(a['preferred_life_time'], a.get('deprecated'), a.get('tentative')) for a in vip] == [(0, True, None)]
    assert json.loads(ns.sh('ip -j -6 route get 2001:db8:1::9'))[0]['prefsrc'] == '2001:db8:1::2'
    assert ns.apply() == []
    # Found preferred again (an earlier version, someone's change): status says so, apply deprecates it again.
    ns.sh('ip addr change 2001:db8:1::40/128 dev vx0 preferred_lft forever')
    assert ns.status() == (1, ['~ address vx0 2001:db8:1::40/128 deprecated'])
    assert ns.apply() == ['~ address vx0 2001:db8:1::40/128 deprecated']
    assert json.loads(ns.sh('ip -j -6 route get 2001:db8:1::9'))[0]['prefsrc'] == '2001:db8:1::2'
    assert ns.apply() == []
    assert ns.stop() == ['- address vx0 2001:db8:1::40/128']


def test_status_reports_a_manual_delete(ns):
    ns.write(FULL)
    assert ns.status() == (1, FULL_APPLIED)
    ns.apply()
    ns.sh('ip addr del 192.0.2.40/32 dev lo')
    assert ns.status() == (1, ['+ address lo 192.0.2.40/32'])
    ns.sh('echo 0 > /proc/sys/net/ipv4/conf/lo/arp_ignore')
    assert ns.status() == (1, ['~ sysctl net.ipv4.conf.lo.arp_ignore 0 -> 1', '+ address lo 192.0.2.40/32'])
    assert ns.apply() == ['~ sysctl net.ipv4.conf.lo.arp_ignore 0 -> 1', '+ address lo 192.0.2.40/32']
    assert ns.status() == (0, [])
    assert ns.addresses() == ['127.0.0.1/8', '192.0.2.41/32', '192.0.2.40/32', '2001:db8::40/128', '::1/128']


def test_status_changes_nothing(ns):
    before = ns.snapshot()
    ns.write(FULL)
    assert ns.status()[0] == 1
    assert ns.snapshot() == before
    assert not ns.run_dir.exists()


BASE = '''\
# a valid start: nothing of it may be applied
sysctl net.ipv4.conf.all.arp_ignore 1
address lo 192.0.2.40/32
arp-hide 192.0.2.40 198.51.100.2
route 198.51.100.1
'''
MALFORMED = [
    ('adress lo 192.0.2.41/32', 6,
     "unknown keyword 'adress' (module, sysctl, link, address, release, arp-hide, arp-nft, arptables, mark, route)"),
    ('address lo 2001:db8::1%x/128', 6, "address: '2001:db8::1%x/128' is not an IPv4 or IPv6 address/prefix"),
    ('route 2001:db8:1::1%vx0', 6, "route: '2001:db8:1::1%vx0' is not an IPv4 or IPv6 address"),
    ('route 192.0.2.1;reboot', 6, "route: '192.0.2.1;reboot' is not an IPv4 or IPv6 address"),
    ('arp-hide 192.0.2.1;reboot 198.51.100.2', 6, "arp-hide: '192.0.2.1;reboot' is not an IPv4 address"),
    ('address lo 192.0.2.1;reboot/32', 6, "address: '192.0.2.1;reboot/32' is not an IPv4 or IPv6 address/prefix"),
    ('sysctl net.ipv4.ip_forward 1 0', 6, 'sysctl takes 2 fields (KEY VALUE), found 3'),
    ('address lo 192.0.2.41/32 lo', 6, 'address takes 2 fields (DEV CIDR), found 3'),
    ('link vx3 up', 6, 'link takes 1 field (DEV), found 2'),
    ('route 198.51.100.3', 6, 'route: a second IPv4 default route (line 5: route 198.51.100.1)'),
    ('route 2001:db8:1::1\nroute 2001:db8:1::3', 7,
     'route: a second IPv6 default route (line 6: route 2001:db8:1::1)'),
    ('sysctl net/ipv4/ip_forward 1', 6, "sysctl: 'net/ipv4/ip_forward' is not a sysctl key (dotted, [a-z0-9_-])"),
    ('sysctl net.ipv4..ip_forward 1', 6, "sysctl: 'net.ipv4..ip_forward' is not a sysctl key (dotted, [a-z0-9_-])"),
    ('sysctl net.ipv4.conf.all.arp_ignore 2', 6,
     'sysctl: a second value for net.ipv4.conf.all.arp_ignore (line 2: sysctl net.ipv4.conf.all.arp_ignore 1)'),
    ('sysctl net.ipv4.ip_forward -1', 6, "sysctl: '-1' is not a value (digits)"),
    ('address lo 192.0.2.256/32', 6, "address: '192.0.2.256/32' is not an IPv4 or IPv6 address/prefix"),
    ('address lo 192.0.2.041/32', 6, "address: '192.0.2.041/32' is not an IPv4 or IPv6 address/prefix"),
    ('address lo 192.0.2.41/33', 6, "address: '192.0.2.41/33' is not an IPv4 or IPv6 address/prefix"),
    ('address lo 192.0.2.41', 6, "address: '192.0.2.41' is not an IPv4 or IPv6 address/prefix"),
    ('address lo 2001:db8:::1/128', 6, "address: '2001:db8:::1/128' is not an IPv4 or IPv6 address/prefix"),
    ('address lo 1:2:3:4:5:6:7:8:9/128', 6,
     "address: '1:2:3:4:5:6:7:8:9/128' is not an IPv4 or IPv6 address/prefix"),
    ('address lo 2001:db8::/129', 6, "address: '2001:db8::/129' is not an IPv4 or IPv6 address/prefix"),
    ('arp-hide 2001:db8::40 198.51.100.2', 6, "arp-hide: '2001:db8::40' is not an IPv4 address"),
    ('arp-hide 192.0.2.40 198.51.100.3', 6,
     'arp-hide: a second source for 192.0.2.40 (line 4: arp-hide 192.0.2.40 198.51.100.2)'),
    ('link vx3;reboot', 6, "link: 'vx3;reboot' is not a device name ([A-Za-z0-9_.@:-], 1 to 15 characters)"),
    ('link abcdefghijklmnop', 6,
     "link: 'abcdefghijklmnop' is not a device name ([A-Za-z0-9_.@:-], 1 to 15 characters)"),
    ('module ip-vs', 6, "module: 'ip-vs' is not a module name ([a-z0-9_])"),
    ('release lo 192.0.2.40', 6, "release: '192.0.2.40' is not an IPv4 or IPv6 address/prefix"),
    ('release lo 192.0.2.40/32', 6, 'address and release of one address (line 3: address lo 192.0.2.40/32)'),
    ('module ip_vs conn_tab_bits=$(reboot)', 6,
     "module: 'conn_tab_bits=$(reboot)' is not a parameter (NAME=VALUE, [a-z0-9_]=[A-Za-z0-9_.,-])"),
    ('module ip_vs conn_tab_bits', 6, "module: 'conn_tab_bits' is not a parameter (NAME=VALUE, [a-z0-9_]=[A-Za-z0-9_.,-])"),
    ('module ip_vs a=1\nmodule ip_vs a=2', 7, 'module: other parameters for ip_vs (line 6: module ip_vs a=1)'),
    ('module ip_vs a=1 a=2', 6, "module: 'a' is given twice"),
    ('arptables sbin/arptables', 6, "arptables: 'sbin/arptables' is not an absolute path"),
    ('arp-nft 192.0.2.1;reboot 198.51.100.2', 6, "arp-nft: '192.0.2.1;reboot' is not an IPv4 address"),
    ('arp-nft 192.0.2.1 198.51.100.2\narp-nft 192.0.2.1 198.51.100.3', 7,
     "arp-nft: a second source for 192.0.2.1 (line 6: arp-nft 192.0.2.1 198.51.100.2)"),
    ('arp-nft 192.0.2.1 2001:db8::1', 6, "arp-nft: '2001:db8::1' is not an IPv4 address"),
    ('mark 7 tcp 192.0.2.41', 6, 'mark takes 4 fields (FWMARK PROTO ADDRESSES PORTS), found 3'),
    ('mark 0 tcp 192.0.2.41 80', 6, "mark: '0' is not a firewall mark (1..4294967295)"),
    ('mark 4294967296 tcp 192.0.2.41 80', 6, "mark: '4294967296' is not a firewall mark (1..4294967295)"),
    ('mark 0x7 tcp 192.0.2.41 80', 6, "mark: '0x7' is not a firewall mark (1..4294967295)"),
    ('mark 7 icmp 192.0.2.41 80', 6, "mark: 'icmp' is not a protocol (tcp, udp or sctp)"),
    ('mark 7 tcp 192.0.2.41,2001:db8::41 80', 6,
     "mark: '2001:db8::41' is not an address or address/prefix of one family"),
    ('mark 7 tcp 192.0.2.0/33 80', 6, "mark: '192.0.2.0/33' is not an address or address/prefix of one family"),
    ('mark 7 tcp 192.0.2.41;reboot 80', 6,
     "mark: '192.0.2.41;reboot' is not an address or address/prefix of one family"),
    ('mark 7 tcp 192.0.2.41 80,}', 6, "mark: '}' is not a port or port range (1..65535, LOW-HIGH)"),
    ('mark 7 tcp 192.0.2.41 90-80', 6, "mark: '90-80' is not a port or port range (1..65535, LOW-HIGH)"),
    ('mark 7 tcp 192.0.2.41 65536', 6, "mark: '65536' is not a port or port range (1..65535, LOW-HIGH)"),
    ('mark 7 tcp 192.0.2.41 080', 6, "mark: '080' is not a port or port range (1..65535, LOW-HIGH)"),
    ('mark 7 tcp 192.0.2.41 80\nmark 7 tcp 192.0.2.42 80', 7,
     'mark: a second rule for mark 7 tcp ip (line 6: mark 7 tcp 192.0.2.41 80)'),
]


@pytest.mark.parametrize('bad, lineno, message', MALFORMED, ids=[case[0] for case in MALFORMED])
def test_a_malformed_file_changes_nothing(ns, bad, lineno, message):
    before = ns.snapshot()
    ns.write(BASE + bad + '\nlink vx3\n')
    for command in ('apply', 'status'):
        result = ns.netstate(command)
        assert (result.returncode, result.stdout, result.stderr) == (2, '', '%s:%d: %s\n' % (ns.conf, lineno, message))
    assert ns.snapshot() == before
    assert not ns.run_dir.exists()


def test_every_malformed_line_is_reported(ns):
    ns.write('route 192.0.2.1\nfoo\nsysctl a.b c\n')
    result = ns.netstate('apply')
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr == ("{0}:2: unknown keyword 'foo' (module, sysctl, link, address, release, arp-hide, arp-nft, arptables, mark, route)\n"
                             "{0}:3: sysctl: 'c' is not a value (digits)\n".format(ns.conf))


def test_a_malformed_file_after_an_apply_keeps_what_is_there(ns):
    ns.write(FULL)
    ns.apply()
    applied = ns.snapshot()
    ns.write(FULL + 'route 198.51.100.3\n')
    assert ns.netstate('apply').returncode == 2
    assert ns.snapshot() == applied
    assert ns.stop() == FULL_STOPPED


def test_a_failed_command_is_undone_by_stop(ns):
    before = ns.snapshot()
    ns.write('sysctl net.ipv4.conf.all.arp_ignore 1\naddress nosuchdev 192.0.2.40/32\n')
    result = ns.netstate('apply')
    assert result.returncode == 3
    assert result.stdout == '~ sysctl net.ipv4.conf.all.arp_ignore 0 -> 1\n'
    assert 'nosuchdev' in result.stderr
    assert 'lvs-netstate: apply %s: stopped by the failure above' % ns.conf in result.stderr
    assert ns.stop() == ['- sysctl net.ipv4.conf.all.arp_ignore restored to 0']
    assert ns.snapshot() == before


def test_usage_errors(ns):
    ns.write(FULL)
    for args in ([], ['apply'], ['restart', str(ns.conf)], ['apply', '--force', str(ns.conf)],
                 ['status', str(ns.conf), str(ns.conf)]):
        result = ns._enter([str(SCRIPT)] + args, check=False)
        assert (result.returncode, result.stdout) == (2, ''), args
        assert result.stderr.startswith('usage: lvs-netstate apply [--keep-stale] FILE | stop FILE | status FILE')
    hidden = ns.tmp / 'etc' / '.conf'
    ns.write(FULL, conf=hidden)
    result = ns.netstate('apply', conf=hidden)
    assert (result.returncode, result.stdout) == (2, '')
    assert 'instance name' in result.stderr
    result = ns.netstate('apply', conf=ns.tmp / 'missing.conf')
    assert (result.returncode, result.stdout, result.stderr) == (
        2, '', 'lvs-netstate: %s: no such readable file\n' % (ns.tmp / 'missing.conf'))


def test_a_long_instance_name_gets_short_chains(ns):
    conf = ns.tmp / 'etc' / 'lvs-realserver-frontend-web.conf'
    ns.write('arp-hide 192.0.2.40 198.51.100.2\n', conf=conf)
    applied = ns.apply(conf=conf)
    assert len(applied) == 2 and applied[1] == '+ arp-hide 192.0.2.40 198.51.100.2'
    match = re.fullmatch(r'\+ arp-hide chains (LVS-[0-9]+_IN) (LVS-[0-9]+_OUT)', applied[0])
    assert match and len(match.group(2)) <= 28
    assert 'Chain %s (1 references)' % match.group(1) in ns.arptables()
    assert ns.apply(conf=conf) == []
    assert ns.stop(conf=conf) == ['- arp-hide 192.0.2.40 198.51.100.2', '- arp-hide chains %s %s' % match.groups()]
    assert ns.arptables() == ARP_EMPTY


def test_two_instances_keep_to_their_own(ns):
    other = ns.tmp / 'etc' / 'director.conf'
    ns.write(FULL)
    ns.write('address lo 192.0.2.41/32\naddress lo 192.0.2.50/32\n', conf=other)
    ns.apply()
    assert ns.apply(conf=other) == ['+ address lo 192.0.2.50/32']
    assert ns.stop(conf=other) == ['- address lo 192.0.2.50/32']
    assert ns.addresses() == LO_FULL
    assert ns.arptables() == ARP_FULL


def test_unit_file():
    text = UNIT.read_text()
    assert text.startswith('# Managed by the lvs.cluster collection')
    lines = [line for line in text.splitlines() if line and not line.startswith('#')]
    for expected in ('[Unit]', 'Wants=network-online.target', 'After=network-online.target',
                     'After=nftables.service', 'ReloadPropagatedFrom=nftables.service', '[Service]',
                     'Type=oneshot', 'RemainAfterExit=yes',
                     'ExecStart=/usr/local/sbin/lvs-netstate apply --keep-stale /etc/lvs-cluster/%i.conf',
                     'ExecReload=/usr/local/sbin/lvs-netstate apply --keep-stale /etc/lvs-cluster/%i.conf',
                     'ExecStop=/usr/local/sbin/lvs-netstate stop /etc/lvs-cluster/%i.conf',
                     '[Install]', 'WantedBy=multi-user.target'):
        assert expected in lines


def test_shellcheck_is_clean():
    if shutil.which('shellcheck') is None:
        pytest.fail('shellcheck is not installed: run scripts/install-system-deps.sh', pytrace=False)
    result = subprocess.run(['shellcheck', '--severity=style', '--shell=sh', str(SCRIPT)], capture_output=True,
                            text=True, check=False)
    assert (result.returncode, result.stdout) == (0, '')


def test_no_eval_and_posix_sh():
    text = SCRIPT.read_text()
    assert text.startswith('#!/bin/sh\n')
    assert not re.search(r'^\s*(eval|local)\b|[;&|]\s*eval\b', text, re.MULTILINE)
    assert os.access(SCRIPT, os.X_OK)
    if shutil.which('dash'):
        assert subprocess.run(['dash', '-n', str(SCRIPT)], check=False).returncode == 0


MARK = """\
mark 7 tcp 192.0.2.41 80,8080
mark 7 udp 192.0.2.41 53
mark 9 tcp 2001:db8:0:0::41,2001:db8:1::/64 443,9000-9100
"""
MARK_RULES = ['7 tcp 192.0.2.41 80,8080', '7 udp 192.0.2.41 53', '9 tcp 2001:db8::41,2001:db8:1::/64 443,9000-9100']
MARK_TABLE = """\
table inet lvs_rs {
\tchain prerouting {
\t\ttype filter hook prerouting priority mangle; policy accept;
%s\t}
}
"""
MARK_LISTED = {
    '7 tcp': '\t\tip daddr 192.0.2.41 tcp dport { 80, 8080 } meta mark set 0x00000007\n',
    '7 udp': '\t\tip daddr 192.0.2.41 udp dport 53 meta mark set 0x00000007\n',
    '9 tcp': '\t\tip6 daddr { 2001:db8::41, 2001:db8:1::/64 } tcp dport { 443, 9000-9100 } meta mark set 0x00000009\n',
}


def mark_table(*keys):
    return MARK_TABLE % ''.join(MARK_LISTED[key] for key in keys)


def test_mark_from_nothing_and_back(ns):
    before = ns.snapshot()
    ns.write(MARK)
    marks = ['+ mark table inet lvs_rs'] + ['+ mark ' + rule for rule in MARK_RULES]
    assert ns.status() == (1, marks)
    assert ns.snapshot() == before
    assert ns.apply() == marks
    assert ns.nft() == mark_table('7 tcp', '7 udp', '9 tcp')
    assert ns.apply() == []
    assert ns.status() == (0, [])
    assert ns.stop() == ['- mark ' + rule for rule in MARK_RULES] + ['- mark table inet lvs_rs']
    assert ns.snapshot() == before


def test_mark_changes_drops_and_keep_stale(ns):
    ns.sh("nft add table inet user; nft add chain inet user c '{ type filter hook input priority 0; }'; "
          "nft add rule inet user c tcp dport 22 accept")
    user = ns.nft()
    ns.write(MARK)
    ns.apply()
    ns.write(MARK.replace(' 80,8080', ' 80,8080,8443').replace('mark 7 udp 192.0.2.41 53\n', ''))
    assert ns.apply() == ['~ mark 7 tcp 192.0.2.41 80,8080 -> 7 tcp 192.0.2.41 80,8080,8443',
                          '- mark 7 udp 192.0.2.41 53']
    assert ns.nft() == user + mark_table('7 tcp', '9 tcp').replace('80, 8080 }', '80, 8080, 8443 }')
    # --keep-stale keeps a dropped mark until a full apply
    ns.write('mark 7 tcp 192.0.2.41 80,8080,8443\n')
    assert ns.apply('--keep-stale') == ['= - mark ' + MARK_RULES[2]]
    assert ns.nft() == user + mark_table('7 tcp', '9 tcp').replace('80, 8080 }', '80, 8080, 8443 }')
    assert ns.apply() == ['- mark ' + MARK_RULES[2]]
    assert ns.nft() == user + mark_table('7 tcp').replace('80, 8080 }', '80, 8080, 8443 }')
    # changed by someone else: written again
    ns.sh('nft flush chain inet lvs_rs prerouting')
    assert ns.apply() == ['~ mark table inet lvs_rs written again (changed or removed by someone else)']
    assert ns.nft() == user + mark_table('7 tcp').replace('80, 8080 }', '80, 8080, 8443 }')
    ns.write('')
    assert ns.apply() == ['- mark 7 tcp 192.0.2.41 80,8080,8443', '- mark table inet lvs_rs']
    assert ns.nft() == user


FAILING_NFT = """#!/bin/sh
# nft that refuses to load a ruleset (-f), as a full or broken nftables would; everything else is the real one
if [ "$1" = -f ]; then echo "nft: refused" >&2; exit 1; fi
exec /usr/sbin/nft "$@"
"""


def test_mark_after_a_failed_write_status_and_apply_still_report_the_change(ns):
    ns.write('mark 7 tcp 192.0.2.41 80\n')
    ns.apply()
    ns.write('mark 7 tcp 192.0.2.41 8080\n')
    fake = ns.bin / 'nft'
    fake.write_text(FAILING_NFT)
    fake.chmod(0o755)
    result = ns.netstate('apply')
    assert result.returncode == 3
    assert 'dport 80 meta mark set' in ns.nft()
    fake.unlink()
    again = ['~ mark table inet lvs_rs written again (an earlier write did not complete)']
    assert ns.status() == (1, again)
    assert ns.apply() == again
    assert ns.nft() == MARK_TABLE % '\t\tip daddr 192.0.2.41 tcp dport 8080 meta mark set 0x00000007\n'
    assert ns.apply() == []


def test_mark_stop_after_someone_deleted_the_table_reports_nothing_removed(ns):
    ns.write('mark 7 tcp 192.0.2.41 80\n')
    ns.apply()
    ns.sh('nft delete table inet lvs_rs')
    assert ns.stop() == []
    assert not ns.run_dir.joinpath('rs').exists()
