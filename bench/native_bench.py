#!/usr/bin/env python
# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time lvs.cluster.ipvs main() natively (no lab, no IPVS kernel): a no-op on a big table.

  PYTHONPATH=build/collections .venv/bin/python bench/native_bench.py [--services 1000] [--servers 10]
        [--runs 15] [--check-change]

The table of bench/ipvs_bench.py (1,000 services x 10 real servers by default) is loaded into the fake
kernel of tests/unit/plugins/modules/fake_ipvsadm.py, whose `-S -n` and `-L -n --thresholds` output is
written to files; a small shell script standing in for ipvsadm (found first on PATH, so through the
module's real get_bin_path() and run_command()) prints them with `cat`, so each listing costs about
what a real ipvsadm costs. main() then runs in this process with the same services each time: the
no-op rerun of `make bench` step 4 minus Python start-up, AnsiballZ and the kernel.
--check-change: one weight changed, in check mode (the script cannot apply -R).
Prints min / median / max seconds of main() over the runs (the first run, which imports and fills
caches, is not counted).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, 'build', 'collections'), os.path.join(ROOT, 'tests', 'unit', 'plugins', 'modules'),
                os.path.join(ROOT, 'bench')]

SCRIPT = '''#!/bin/sh
[ "$LC_ALL" = C ] || { echo "ipvsadm must run under LC_ALL=C" >&2; exit 3; }
case "$*" in
"-S -n") exec cat '%(dir)s/save.txt' ;;
"-L -n --thresholds") exec cat '%(dir)s/thresholds.txt' ;;
*) echo "unexpected ipvsadm $*" >&2; exit 2 ;;
esac
'''


def run_main(main, args):
    from ansible.module_utils.testing import patch_module_args
    out, real = io.StringIO(), sys.stdout
    sys.stdout = out
    start = None
    try:
        with patch_module_args(args):  # encodes the arguments as the controller would: not timed
            start = time.perf_counter()
            main()
    except SystemExit:
        pass
    finally:
        seconds = time.perf_counter() - start
        sys.stdout = real
    return seconds, json.loads(out.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--services', type=int, default=1000)
    parser.add_argument('--servers', type=int, default=10)
    parser.add_argument('--runs', type=int, default=15)
    parser.add_argument('--check-change', action='store_true', help='one weight changed, check mode')
    args = parser.parse_args()

    from fake_ipvsadm import FakeIpvsadm
    from ipvs_bench import table
    from ansible_collections.lvs.cluster.plugins.modules import ipvs as ipvs_module

    services, rules = table(args.services, args.servers)
    kernel = FakeIpvsadm()
    kernel.load('\n'.join(rules))
    work = tempfile.mkdtemp(prefix='lvs-native-bench-')
    try:
        with open(os.path.join(work, 'save.txt'), 'w') as f:
            f.write(kernel.save())
        with open(os.path.join(work, 'thresholds.txt'), 'w') as f:
            f.write(kernel.listing({'--thresholds'}))
        with open(os.path.join(work, 'ipvsadm'), 'w') as f:
            f.write(SCRIPT % {'dir': work})
        os.chmod(os.path.join(work, 'ipvsadm'), 0o755)
        os.environ['PATH'] = work + os.pathsep + os.environ.get('PATH', '')

        module_args = {'services': services, 'purge': True}
        if args.check_change:
            module_args['services'] = copy.deepcopy(services)
            module_args['services'][len(services) // 2]['destinations'][3]['weight'] = 2
            module_args['_ansible_check_mode'] = True
        times = []
        for i in range(args.runs + 1):
            seconds, result = run_main(ipvs_module.main, copy.deepcopy(module_args))
            if result.get('failed'):
                print('module failed: %s' % result.get('msg'), file=sys.stderr)
                return 1
            want = 1 if args.check_change else 0
            if len(result['commands']) != want:
                print('expected %d command(s), got %r' % (want, result['commands'][:5]), file=sys.stderr)
                return 1
            if i:
                times.append(seconds)
    finally:
        shutil.rmtree(work)
    print('%s, %d services x %d real servers, %d runs: min %.3f s, median %.3f s, max %.3f s' % (
        'one weight changed (check mode)' if args.check_change else 'no-op', args.services, args.servers,
        len(times), min(times), statistics.median(times), max(times)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
