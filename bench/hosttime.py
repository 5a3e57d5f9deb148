#!/usr/bin/env python
# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time one command ON the benchmarked host and print the result as JSON (copied there by ipvs_bench.py).

  hosttime.py [--stdin FILE] -- ARGV...        time ARGV (stdin from FILE)
  hosttime.py --ansiballz DIR NAME             re-run the newest kept AnsiballZ_NAME.py under DIR
                                               (the exact module run Ansible just did, same arguments)
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time


def main(argv):
    stdin_path = None
    if argv[:1] == ['--ansiballz']:
        found = glob.glob(os.path.join(argv[1], '*', 'AnsiballZ_%s.py' % argv[2]))
        if not found:
            print(json.dumps({'error': 'no AnsiballZ_%s.py under %s' % (argv[2], argv[1])}))
            return 1
        cmd = [sys.executable, max(found, key=os.path.getmtime)]
    else:
        if argv[:1] == ['--stdin']:
            stdin_path, argv = argv[1], argv[2:]
        if argv[:1] == ['--']:
            argv = argv[1:]
        cmd = argv
    stdin = open(stdin_path, 'rb') if stdin_path else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        seconds = time.perf_counter() - start
    finally:
        if stdin_path:
            stdin.close()
    out = {'cmd': cmd, 'seconds': seconds, 'rc': proc.returncode,
           'stdout_lines': proc.stdout.count(b'\n'), 'stderr': proc.stderr.decode('utf-8', 'replace')[-2000:]}
    if argv[:1] == ['--ansiballz']:
        try:
            result = json.loads(proc.stdout.decode('utf-8'))
            out['module'] = {'changed': result.get('changed'), 'failed': result.get('failed', False),
                             'msg': result.get('msg'), 'commands': len(result.get('commands') or [])}
        except ValueError:
            out['module'] = {'failed': True, 'msg': proc.stdout.decode('utf-8', 'replace')[-2000:]}
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
