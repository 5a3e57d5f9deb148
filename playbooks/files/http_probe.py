# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send N HTTP requests to each target, one TCP connection each, and count the answer bodies.

Usage: http_probe.py --requests 60 --timeout 2 --deadline 120 --target NAME ADDRESS PORT [--target ...]
Prints {"NAME": {"body": count, ...}, ...}. Failed requests count as "ERROR: <reason>".
Standard library only: it runs on the client host with its system python3.
"""

import argparse
import http.client
import json
import sys
import time


def probe(address, port, timeout):
    conn = http.client.HTTPConnection(address, int(port), timeout=timeout)
    try:
        # A new connection per request: IPVS schedules connections, not requests.
        conn.request('GET', '/', headers={'Connection': 'close', 'User-Agent': 'lvs.cluster-verify'})
        response = conn.getresponse()
        body = response.read(4096).decode('utf-8', 'replace').strip()
        if response.status != 200:
            return 'ERROR: HTTP %d %s' % (response.status, body[:60])
        return body
    except (OSError, http.client.HTTPException) as exc:
        return 'ERROR: %s' % (exc.__class__.__name__ if not str(exc) else str(exc))
    finally:
        conn.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--requests', type=int, default=60)
    parser.add_argument('--timeout', type=float, default=2.0, help='seconds per request')
    parser.add_argument('--deadline', type=float, default=120.0, help='seconds for the whole probe')
    parser.add_argument('--target', nargs=3, action='append', default=[], metavar=('NAME', 'ADDRESS', 'PORT'))
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 100000:
        parser.error('--requests must be 1..100000')

    stop_at = time.monotonic() + args.deadline
    result = {}
    for name, address, port in args.target:
        counts = result.setdefault(name, {})
        for _request in range(args.requests):
            if time.monotonic() > stop_at:
                counts['ERROR: deadline reached'] = counts.get('ERROR: deadline reached', 0) + 1
                continue
            body = probe(address, port, args.timeout)
            counts[body] = counts.get(body, 0) + 1
    json.dump(result, sys.stdout, sort_keys=True)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
