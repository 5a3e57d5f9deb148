# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for ipvsadm 1.31 plus a kernel IPVS table, for the unit tests.

It is written independently of plugins/module_utils/ipvs.py (its own parsing and printing) so the
tests exercise the module's real diff/apply logic against ipvsadm's behaviour:
- -R runs each stdin line as a command; kernel errors are printed and the batch continues,
  option errors abort the batch with exit status 2 (like ipvsadm's fail()).
- -S -n omits thresholds; tun real servers print "--tun-type ipip".
- -e/-E replace every attribute with what the line gives (unset = default), as ipvsadm does.
- dr/tun real servers of address services get the service port on -a/-e (not on -d).
"""

from __future__ import annotations

import ipaddress

PROTO = {'-t': 'TCP', '-u': 'UDP', '--sctp-service': 'SCTP'}
FWD = {'-g': 'Route', '-m': 'Masq', '-i': 'Tunnel'}
FWD_FLAG = dict((v, k) for k, v in FWD.items())
FLAGBITS = {'flag-1': 1, 'flag-2': 2, 'flag-3': 3, 'sh-fallback': 1, 'sh-port': 2, 'mh-fallback': 1, 'mh-port': 2}


class OptionError(Exception):
    pass


def norm_hostport(text):
    if text.startswith('['):
        host, port = text[1:].split(']:')
        return ipaddress.IPv6Address(host), int(port)
    host, port = text.rsplit(':', 1)
    return ipaddress.ip_address(host), int(port)


def fmt_hostport(addr, port):
    return ('[%s]:%d' if addr.version == 6 else '%s:%d') % (addr.compressed, port)


def largenum(n):
    s = '%d' % n
    return ('%' + str(9 if len(s) <= 8 else len(s) + 1) + 'd') % n


class FakeIpvsadm(object):
    def __init__(self, ipvs_available=True):
        self.available = ipvs_available
        self.services = {}      # key -> dict
        self.calls = []         # argv of every run
        self.batches = []       # lines of every -R run
        self.conns = {}         # (svc_key, dest_key) -> [active, inactive]
        self.stats = {}         # key or (svc_key, dest_key) -> (5 counters, 5 rates)

    # ------------------------------------------------------------ entry point for run_command
    def run(self, args, data=None, environ_update=None, **_kw):
        self.calls.append(list(args))
        assert environ_update and environ_update.get('LC_ALL') == 'C', 'ipvsadm must run under LC_ALL=C'
        argv = list(args[1:])
        if not self.available:
            return 2, '', ("Can't initialize ipvs: Protocol not available\n"
                           "Are you sure that IP Virtual Server is built in the kernel or as module?\n")
        if argv == ['-R']:
            lines = [ln for ln in (data or '').splitlines() if ln.strip()]
            self.batches.append(lines)
            err, rc = [], 0
            for line in lines:
                try:
                    result = self.command(line.split())
                except OptionError as e:
                    err.append(str(e))
                    return 2, '', '\n'.join(err) + '\n'
                if result:
                    err.append(result)
                rc = 1 if result else 0  # like restore_table(): the status of the LAST line only
            return rc, '', ''.join(e + '\n' for e in err)
        if argv == ['-S', '-n']:
            return 0, self.save(), ''
        if argv[:2] == ['-L', '-n']:
            return 0, self.listing(set(argv[2:])), ''
        raise AssertionError('unexpected ipvsadm call %r' % (args,))

    # ------------------------------------------------------------ commands
    def parse(self, tokens):
        if tokens[0] == 'ipvsadm':
            tokens = tokens[1:]
        o = {'cmd': tokens[0]}
        it = iter(tokens[1:])
        for tok in it:
            if tok in PROTO:
                addr, port = norm_hostport(next(it))
                o['svc'] = (PROTO[tok], addr, port)
            elif tok == '-f':
                o['svc'] = ('FWM', int(next(it)), False)
            elif tok == '-6':
                if o.get('svc', ('',))[0] != 'FWM':
                    raise OptionError('-6 used before -f')
                o['svc'] = ('FWM', o['svc'][1], True)
            elif tok in ('-s', '-p', '-M', '-b', '-r', '-w', '-x', '-y', '--tun-type'):
                o[tok] = next(it)
            elif tok in FWD:
                o['fwd'] = FWD[tok]
            else:
                raise OptionError('invalid option %s' % tok)
        if 'svc' not in o:
            raise OptionError('no service')
        return o

    def command(self, tokens):
        o = self.parse(tokens)
        key, cmd = o['svc'], o['cmd']
        svc = self.services.get(key)
        if cmd in ('-A', '-E'):
            sched = o.get('-s', 'wlc')
            flags = 0
            for name in o.get('-b', '').split(',') if o.get('-b') else []:
                if name[:3] in ('sh-', 'mh-') and name[:2] != sched:
                    raise OptionError("incompatible scheduler flag `%s'" % name)
                flags |= 1 << (FLAGBITS[name] - 1)
            new = {'sched': sched, 'persistent': int(o['-p']) if '-p' in o else None,
                   'mask': o.get('-M'), 'flags': flags}
            if cmd == '-A':
                if svc is not None:
                    return 'Service already exists'
                new['dests'] = {}
                self.services[key] = new
            else:
                if svc is None:
                    return 'No such service'
                svc.update(new)
            return 0
        if svc is None:
            return 'No such service'
        if cmd == '-D':
            del self.services[key]
            return 0
        addr, port = norm_hostport(o['-r'])
        fwd = o.get('fwd', 'Route')
        if cmd in ('-a', '-e') and key[0] != 'FWM' and fwd in ('Route', 'Tunnel'):
            port = key[2]
        dkey = (addr, port)
        if cmd == '-d':
            if dkey not in svc['dests']:
                return 'No such destination'
            del svc['dests'][dkey]
            return 0
        new = {'fwd': fwd, 'weight': int(o.get('-w', 1)), 'x': int(o.get('-x', 0)), 'y': int(o.get('-y', 0))}
        if cmd == '-a':
            if dkey in svc['dests']:
                return 'Destination already exists'
            svc['dests'][dkey] = new
        elif cmd == '-e':
            if dkey not in svc['dests']:
                return 'No such destination'
            svc['dests'][dkey] = new
        else:
            raise OptionError('unknown command %s' % cmd)
        return 0

    # ------------------------------------------------------------ output
    def ordered(self):
        def skey(k):
            if k[0] == 'FWM':
                return (1, k[2], k[1], 0, b'')
            return (0, k[1].version, 0, k[2], k[1].packed)
        for key in sorted(self.services, key=skey):
            svc = self.services[key]
            yield key, svc, sorted(svc['dests'].items(), key=lambda kv: (kv[0][0].packed, kv[0][1]))

    def flag_names(self, svc):
        names = []
        for bit in (1, 2, 3):
            if svc['flags'] & (1 << (bit - 1)):
                if svc['sched'] in ('sh', 'mh') and bit < 3:
                    names.append('%s-%s' % (svc['sched'], 'fallback' if bit == 1 else 'port'))
                else:
                    names.append('flag-%d' % bit)
        return names

    def save(self):
        out = []
        for key, svc, dests in self.ordered():
            if key[0] == 'FWM':
                name = '-f %d -6' % key[1] if key[2] else '-f %d' % key[1]
            else:
                flag = dict((v, k) for k, v in PROTO.items())[key[0]]
                name = '%s %s' % (flag, fmt_hostport(key[1], key[2]))
            line = '-A %s -s %s' % (name, svc['sched'])
            if svc['persistent'] is not None:
                line += ' -p %d' % svc['persistent']
                if svc['mask'] is not None and svc['mask'] not in ('255.255.255.255', '128'):
                    line += ' -M %s' % svc['mask']
            if svc['flags']:
                line += ' -b ' + ','.join(self.flag_names(svc))
            out.append(line)
            for (addr, port), d in dests:
                line = '-a %s -r %s %s -w %d' % (name, fmt_hostport(addr, port), FWD_FLAG[d['fwd']], d['weight'])
                if d['fwd'] == 'Tunnel':
                    line += ' --tun-type ipip'
                out.append(line)
        return ''.join(line + '\n' for line in out)

    def listing(self, opts):
        out = ['IP Virtual Server version 1.2.1 (size=4096)']
        if '--thresholds' in opts:
            title = ('Prot LocalAddress:Port', 'Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn')
            out.append('%-33s %-10s %-10s %-10s %-10s' % title)
        else:
            cols = ('Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes') if '--stats' in opts else \
                ('CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS')
            out.append('%-33s %8s %8s %8s %8s %8s' % (('Prot LocalAddress:Port',) + cols))
        out.append('  -> RemoteAddress:Port')
        for key, svc, dests in self.ordered():
            if key[0] == 'FWM':
                name = 'FWM  %d IPv6' % key[1] if key[2] else 'FWM  %d' % key[1]
            else:
                name = '%-4s %s' % (key[0], fmt_hostport(key[1], key[2]))
            if '--thresholds' in opts:
                out.append('%s %s' % (name, svc['sched']) +
                           (' persistent %d' % svc['persistent'] if svc['persistent'] else ''))
            else:
                counters, rates = self.stats.get(key, ((0,) * 5, (0,) * 5))
                nums = counters if '--stats' in opts else rates
                out.append('%-33s' % name + ''.join(largenum(n) for n in nums))
            for (addr, port), d in dests:
                dname = fmt_hostport(addr, port)
                if '--thresholds' in opts:
                    act, inact = self.conns.get((key, (addr, port)), (0, 0))
                    out.append('  -> %-28s %-10u %-10u %-10u %-10u' % (dname, d['x'], d['y'], act, inact))
                    continue
                counters, rates = self.stats.get((key, (addr, port)), ((0,) * 5, (0,) * 5))
                if '--stats' in opts:
                    out.append('  -> %-28s' % dname + ''.join(largenum(n) for n in counters))
                else:
                    out.append('  -> %-28s %8u %8u %8u' % ((dname,) + tuple(rates[:3])) +
                               ''.join(largenum(n) for n in rates[3:]))
        return ''.join(line + '\n' for line in out)

    # ------------------------------------------------------------ helpers for tests
    def load(self, text):
        """Set the table from -R lines (like ipvsadm-restore on an empty table)."""
        for line in text.strip().splitlines():
            assert self.command(line.split()) == 0, line

    def restore_calls(self):
        return [c for c in self.calls if c[1:] == ['-R']]
