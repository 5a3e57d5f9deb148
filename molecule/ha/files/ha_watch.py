# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Watch a director (or act on a host) and print when something happened, on the shared lab VM clock.

  ha_watch.py vip ADDRESS present|absent [--timeout S]       an address on any interface (ip -j addr)
  ha_watch.py dest VIP:PORT ADDRESS[,ADDRESS...] in|out|present [--timeout S]
        real servers in the IPVS table (/proc/net/ip_vs), every one of them: in = present with
        weight > 0, out = absent or weight 0, present = listed at all
  ha_watch.py run COMMAND [ARG ...]                          run a command, print when it started and ended

Polls every 50 ms. Prints {"start": t0, "seen": t or null, "at_start": bool, "polls": n} ("run": {"t": t0,
"done": t1, "rc": rc}). Exit status 0 even on timeout: the playbook judges the numbers.
"""

import ipaddress
import json
import subprocess
import sys
import time


def addresses():
    out = subprocess.run(['ip', '-j', 'addr', 'show'], capture_output=True, text=True, check=False).stdout
    return {a['local'] for link in json.loads(out or '[]') for a in link.get('addr_info', [])}


def hex_endpoint(text):
    """(address, port) of /proc/net/ip_vs's 'C6336AAA:0050' (IPv4) or '[2001:0db8:...:0170]:0050' (IPv6)."""
    if text.startswith('['):
        addr, port = text[1:].split(']:')
        return str(ipaddress.IPv6Address(addr)), int(port, 16)
    addr, port = text.split(':')
    return str(ipaddress.IPv4Address(int(addr, 16))), int(port, 16)


def endpoint_text(address, port):
    """'198.51.100.170:80' or '[2001:db8::170]:80', as the playbooks name a service."""
    return ('[%s]:%d' if ':' in address else '%s:%d') % (address, port)


def ipvs_dests(service):
    """{real server address: weight} of one service, from /proc/net/ip_vs."""
    dests, current = {}, None
    try:
        with open('/proc/net/ip_vs') as handle:
            lines = handle.read().splitlines()
    except OSError:
        return dests
    for line in lines[3:]:
        fields = line.split()
        if not fields:
            continue
        if fields[0] in ('TCP', 'UDP', 'SCTP'):
            current = endpoint_text(*hex_endpoint(fields[1])) if ':' in fields[1] else None
        elif fields[0] == '->' and current == service:
            dests[hex_endpoint(fields[1])[0]] = int(fields[3])
    return dests


def main(argv):
    timeout = 30.0
    if '--timeout' in argv:
        i = argv.index('--timeout')
        timeout = float(argv[i + 1])
        del argv[i:i + 2]
    mode = argv[0] if argv else ''
    if mode == 'run':
        t0 = time.time()
        rc = subprocess.run(argv[1:], check=False).returncode
        print(json.dumps({'run': {'t': round(t0, 3), 'done': round(time.time(), 3), 'rc': rc}}))
        return 0
    if mode == 'vip' and len(argv) == 3:
        address, want = argv[1], argv[2]

        def check():
            return (address in addresses()) == (want == 'present')
    elif mode == 'dest' and len(argv) == 4:
        service, wanted, want = argv[1], argv[2].split(','), argv[3]

        def state(weight):
            if want == 'present':
                return weight is not None
            return (weight is not None and weight > 0) == (want == 'in')

        def check():
            dests = ipvs_dests(service)
            return all(state(dests.get(address)) for address in wanted)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    start, polls, seen = time.time(), 0, None
    at_start = check()
    while seen is None and time.time() - start < timeout:
        polls += 1
        if check():
            seen = time.time()
            break
        time.sleep(0.05)
    print(json.dumps({'start': round(start, 3), 'seen': round(seen, 3) if seen else None,
                      'at_start': at_start, 'polls': polls}))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
