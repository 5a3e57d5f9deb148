# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client traffic through a VIP: what a user sees while directors fail or the cluster changes.

  traffic_probe.py --vip A [--port 80] --duration S [--until FILE] [--rate 10]
                   [--keepalive 0.5] [--keepalive-conns 1] [--keepalive-life 0] [--out FILE]

Two things at once, timestamps from the shared (lab VM) clock:
- loop: a new TCP connection every 1/rate s (each in its own thread, timeout 1 s): HTTP GET /,
  records (time, ok, body or error); it ends after --duration s, or earlier once FILE (--until) exists;
- keepalive (when --keepalive > 0): --keepalive-conns TCP connections, opened one after the other before the
  loop starts, each with a GET every N s until the end (or for --keepalive-life s, then closed cleanly).
  They are never re-opened: if one breaks, the error is recorded and its thread stops. Surviving a
  failover proves the backup director had the connection (IPVS connection sync); surviving a real
  server's removal proves it was drained, not cut.
Prints one JSON document (and writes it to FILE with --out): "keepalives" holds one result list per
connection, "keepalive" the first one's.
"""
import os

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
        if at >= stop_at or (args.until and os.path.exists(args.until)):
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


def connect(args, results):
    """One connection that is never re-opened silently; None (error recorded) when it cannot be made."""
    conn = http.client.HTTPConnection(args.vip, args.port, timeout=5)
    conn.auto_open = 0
    try:
        conn.connect()
    except OSError as exc:
        results.append({'t': round(time.time(), 3), 'ok': False, 'body': 'connect: %s' % exc, 'local': None})
        return None
    return conn


def keepalive(args, conn, results, stop_at):
    if conn is None:
        return
    local = '%s:%d' % conn.sock.getsockname()[:2]
    if args.keepalive_life > 0:
        stop_at = min(stop_at, time.time() + args.keepalive_life)
    while time.time() < stop_at and not (args.until and os.path.exists(args.until)):
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
    parser.add_argument('--keepalive-conns', type=int, default=1)
    parser.add_argument('--keepalive-life', type=float, default=0.0)
    parser.add_argument('--until')
    parser.add_argument('--out')
    args = parser.parse_args()

    start = time.time()
    stop_at = start + args.duration
    loop_results = []
    keep_results = [[] for unused in range(args.keepalive_conns if args.keepalive > 0 else 0)]
    # Opened one after the other before any other traffic: a round-robin service spreads them evenly.
    conns = [connect(args, results) for results in keep_results]
    workers = [threading.Thread(target=keepalive, args=(args, conn, results, stop_at))
               for conn, results in zip(conns, keep_results)]
    workers.append(threading.Thread(target=loop, args=(args, loop_results, stop_at)))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    doc = {'start': round(start, 3), 'end': round(time.time(), 3), 'loop': loop_results,
           'keepalive': keep_results[0] if keep_results else [], 'keepalives': keep_results}
    if args.out:
        with open(args.out, 'w') as handle:
            json.dump(doc, handle)
    print(json.dumps(doc))
    return 0


if __name__ == '__main__':
    sys.exit(main())
