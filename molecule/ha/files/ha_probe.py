# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client traffic for the HA scenario: what a user sees through the VIP while directors fail.

  ha_probe.py --vip A [--port 80] --duration S [--rate 10] [--keepalive 0.5] [--out FILE]

Two things at once, timestamps from the shared (lab VM) clock:
- loop: a new TCP connection every 1/rate s (each in its own thread, timeout 1 s): HTTP GET /,
  records (time, ok, body or error);
- keepalive (when --keepalive > 0): ONE TCP connection opened at the start, a GET on it every N s. It is
  never re-opened: if the connection breaks, the error is recorded and the thread stops. Surviving a
  failover proves the backup director had the connection (IPVS connection sync).
Prints one JSON document (and writes it to FILE with --out).
"""

import argparse
import http.client
import json
import sys
import threading
import time


def one_request(vip, port, timeout):
    conn = http.client.HTTPConnection(vip, port, timeout=timeout)
    try:
        conn.request('GET', '/', headers={'Connection': 'close', 'User-Agent': 'lvs.cluster-ha-probe'})
        response = conn.getresponse()
        body = response.read(4096).decode('utf-8', 'replace').strip()
        return response.status == 200, body if response.status == 200 else 'HTTP %d' % response.status
    except (OSError, http.client.HTTPException) as exc:
        return False, '%s: %s' % (exc.__class__.__name__, exc)
    finally:
        conn.close()


def loop(args, results, stop_at):
    threads, slot = [], 0
    start = time.time()
    while True:
        at = start + slot / args.rate
        if at >= stop_at:
            break
        time.sleep(max(0.0, at - time.time()))

        def run(sent=at):
            ok, body = one_request(args.vip, args.port, 1.0)
            results.append({'t': round(sent, 3), 'ok': ok, 'body': body})
        thread = threading.Thread(target=run)
        thread.start()
        threads.append(thread)
        slot += 1
    for thread in threads:
        thread.join()
    results.sort(key=lambda r: r['t'])


def keepalive(args, results, stop_at):
    conn = http.client.HTTPConnection(args.vip, args.port, timeout=5)
    conn.auto_open = 0  # never reconnect silently: one connection for the whole run
    try:
        conn.connect()
        local = '%s:%d' % conn.sock.getsockname()[:2]
    except OSError as exc:
        results.append({'t': round(time.time(), 3), 'ok': False, 'body': 'connect: %s' % exc, 'local': None})
        return
    while time.time() < stop_at:
        sent = time.time()
        try:
            conn.request('GET', '/', headers={'User-Agent': 'lvs.cluster-ha-keepalive'})
            response = conn.getresponse()
            body = response.read(4096).decode('utf-8', 'replace').strip()
            ok = response.status == 200 and (conn.sock is not None)
            results.append({'t': round(sent, 3), 'ok': ok, 'body': body, 'local': local})
        except (OSError, http.client.HTTPException) as exc:
            results.append({'t': round(sent, 3), 'ok': False, 'body': '%s: %s' % (exc.__class__.__name__, exc),
                            'local': local})
            return
        time.sleep(max(0.0, sent + args.keepalive - time.time()))
    conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--vip', required=True)
    parser.add_argument('--port', type=int, default=80)
    parser.add_argument('--duration', type=float, required=True)
    parser.add_argument('--rate', type=float, default=10.0)
    parser.add_argument('--keepalive', type=float, default=0.5)
    parser.add_argument('--out')
    args = parser.parse_args()

    start = time.time()
    stop_at = start + args.duration
    loop_results, keep_results = [], []
    workers = [threading.Thread(target=loop, args=(args, loop_results, stop_at))]
    if args.keepalive > 0:
        workers.append(threading.Thread(target=keepalive, args=(args, keep_results, stop_at)))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    doc = {'start': round(start, 3), 'end': round(time.time(), 3), 'loop': loop_results, 'keepalive': keep_results}
    if args.out:
        with open(args.out, 'w') as handle:
            json.dump(doc, handle)
    print(json.dumps(doc))
    return 0


if __name__ == '__main__':
    sys.exit(main())
