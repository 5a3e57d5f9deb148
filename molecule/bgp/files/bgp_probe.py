# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probes of the bgp scenario; each prints one JSON document. Timestamps come from the lab VM's clock.

  bgp_probe.py stats                      this host's IPVS totals (/proc/net/ip_vs_stats): {"conns": N}
  bgp_probe.py burst --vip A --count N [--rate R]
        N new connections (GET /, each its own source port): {"answers": {body: n}, "failed": [...]}
  bgp_probe.py same-flow --vip A --via D1 --via D2 [--first-port P] [--count N]
        the same N connections (source ports P..P+N-1) through each director in turn (a host route to the VIP
        via that director), each closed with a reset so that the next one can reuse the port at once:
        {"by_director": {D: {port: body}}, "same": n, "different": [...]}
  bgp_probe.py watch-route --prefix A --duration S
        the router's next hops for A, polled every 50 ms: {"changes": [{"t": time, "via": [addresses]}]}
"""

import argparse
import json
import socket
import struct
import subprocess
import sys
import threading
import time


def get(vip, port, source_port=None, timeout=2.0, reset=False):
    """GET / on a new connection; (ok, body or error)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        if source_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(('', source_port))
        sock.connect((vip, port))
        sock.sendall(b'GET / HTTP/1.1\r\nHost: lvs\r\nUser-Agent: lvs.cluster-bgp-probe\r\n\r\n')
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _sep, body = data.partition(b'\r\n\r\n')
        length = 0
        for line in head.split(b'\r\n')[1:]:
            name, _colon, value = line.partition(b':')
            if name.strip().lower() == b'content-length':
                length = int(value.strip())
        while len(body) < length:
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
        status = head.split(b' ')[1] if b' ' in head else b'?'
        if status != b'200':
            return False, 'HTTP %s' % status.decode('ascii', 'replace')
        return True, body.decode('utf-8', 'replace').strip()
    except OSError as exc:
        return False, '%s: %s' % (exc.__class__.__name__, exc)
    finally:
        if reset:
            # a reset leaves no TIME_WAIT behind: the same source port can connect again at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        sock.close()


def stats(_args):
    with open('/proc/net/ip_vs_stats') as handle:
        lines = handle.read().splitlines()
    return {'conns': int(lines[2].split()[0], 16)}


def burst(args):
    results = [None] * args.count
    threads = []
    start = time.time()
    for i in range(args.count):
        time.sleep(max(0.0, start + i / args.rate - time.time()))

        def one(slot=i):
            results[slot] = get(args.vip, args.port)
        thread = threading.Thread(target=one)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    answers, failed = {}, []
    for ok, body in results:
        if ok:
            answers[body] = answers.get(body, 0) + 1
        else:
            failed.append(body)
    return {'answers': answers, 'failed': failed}


def route_via(vip, director):
    subprocess.run(['ip', 'route', 'replace', vip + '/32', 'via', director], check=True)


def same_flow(args):
    by_director = {}
    try:
        for director in args.via:
            route_via(args.vip, director)
            seen = by_director[director] = {}
            for port in range(args.first_port, args.first_port + args.count):
                ok, body = get(args.vip, args.port, source_port=port, reset=True)
                seen[str(port)] = body if ok else 'FAILED ' + body
    finally:
        subprocess.run(['ip', 'route', 'delete', args.vip + '/32'], check=False)
    first = by_director[args.via[0]]
    different = [{'port': port, 'answers': {d: by_director[d][port] for d in args.via}}
                 for port in first if len({by_director[d][port] for d in args.via}) > 1]
    failed = sum(1 for d in args.via for body in by_director[d].values() if body.startswith('FAILED'))
    servers = {}
    for body in first.values():
        servers[body] = servers.get(body, 0) + 1
    return {'same': len(first) - len(different), 'different': different, 'failed': failed, 'servers': servers}


def next_hops(prefix):
    out = subprocess.run(['ip', '-j', 'route', 'show', prefix], capture_output=True, text=True, check=False).stdout
    via = []
    for route in json.loads(out or '[]'):
        if 'gateway' in route:
            via.append(route['gateway'])
        for hop in route.get('nexthops', []):
            via.append(hop['gateway'])
    return sorted(via)


def watch_route(args):
    changes, last, end = [], None, time.time() + args.duration
    while time.time() < end:
        via = next_hops(args.prefix)
        if via != last:
            changes.append({'t': time.time(), 'via': via})
            last = via
        time.sleep(0.05)
    return {'changes': changes}


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('stats')
    p = sub.add_parser('burst')
    p.add_argument('--vip', required=True)
    p.add_argument('--port', type=int, default=80)
    p.add_argument('--count', type=int, default=300)
    p.add_argument('--rate', type=float, default=50)
    p = sub.add_parser('same-flow')
    p.add_argument('--vip', required=True)
    p.add_argument('--port', type=int, default=80)
    p.add_argument('--via', action='append', required=True)
    # below the kernel's ephemeral range (32768-60999): no other socket of the host is handed one of them meanwhile
    # (41000 on, inside it, failed once with EADDRINUSE on one port, through both directors)
    p.add_argument('--first-port', type=int, default=21000)
    p.add_argument('--count', type=int, default=60)
    p = sub.add_parser('watch-route')
    p.add_argument('--prefix', required=True)
    p.add_argument('--duration', type=float, default=30)
    args = parser.parse_args()
    handler = {'stats': stats, 'burst': burst, 'same-flow': same_flow, 'watch-route': watch_route}[args.command]
    json.dump(handler(args), sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
