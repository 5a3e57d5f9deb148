# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bgp scenario's measurements, run on the controller: each drives the containers with `docker exec` (the probes
in them are bgp_probe.py and traffic_probe.py), prints one JSON report and exits 1 when a target is missed.
Timestamps are the lab VM's (the probes' and Docker's own), never the controller's.

  bgp_lab.py CHECK --expect FILE      FILE: JSON with vip, directors {name: address}, router, client, probe,
                                      weights {real server name: weight}, tolerance, crash_failed_max, and for
                                      maintenance: playbook, inventory, vars_on, vars_off, director
  CHECK: spread | same-flow | web-down | maintenance | crash
"""

import datetime
import json
import subprocess
import sys
import threading
import time

RATE = 10


def docker(*argv, check=True):
    result = subprocess.run(['docker'] + list(argv), capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise SystemExit('docker %s: rc %d: %s' % (' '.join(argv), result.returncode, result.stderr.strip()))
    return result.stdout


def probe(host, *argv):
    return json.loads(docker('exec', host, 'python3', '/usr/local/bin/bgp_probe.py', *argv))


class Background(threading.Thread):
    """A command in a container, its stdout parsed as JSON once it ends."""

    def __init__(self, host, argv):
        super().__init__()
        self.host, self.argv, self.result = host, argv, None

    def run(self):
        self.result = json.loads(docker('exec', self.host, *self.argv) or 'null')


def traffic(exp, duration, conns=8, until=None):
    argv = ['python3', '/usr/local/bin/traffic_probe.py', '--vip', exp['vip'], '--duration', str(duration),
            '--rate', str(RATE), '--keepalive', '0.5', '--keepalive-conns', str(conns)]
    if until:
        argv += ['--until', until]
    return Background(exp['client'], argv)


def route_watch(exp, duration):
    return Background(exp['router'], ['python3', '/usr/local/bin/bgp_probe.py', 'watch-route', '--prefix', exp['vip'],
                                      '--duration', str(duration)])


def via_now(exp):
    return probe(exp['router'], 'watch-route', '--prefix', exp['vip'], '--duration', '0.05')['changes'][-1]['via']


def wait_via(exp, wanted, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if via_now(exp) == wanted:
            return True
        time.sleep(1)
    return False


def failures(loop):
    failed = [r for r in loop if not r['ok']]
    return {'requests': len(loop), 'failed': len(failed), 'errors': sorted({r['body'] for r in failed}),
            'first_failed_t': failed[0]['t'] if failed else None, 'last_failed_t': failed[-1]['t'] if failed else None}


def keepalive_report(keeps, ports=None):
    """Each long-lived connection: did it go on to the end, on one real server? ports: only these client ports."""
    chosen = [k for k in keeps if k and (ports is None or (k[0].get('local') or ':').rsplit(':', 1)[1] in ports)]
    survived = [k for k in chosen if all(r['ok'] for r in k) and len({r['body'] for r in k}) == 1]
    return {'total': len(chosen), 'survived': len(survived), 'requests': sum(len(k) for k in chosen),
            'broken': [[r for r in k if not r['ok']][:1] for k in chosen if k not in survived]}


# -- checks -------------------------------------------------------------------------------------------------------
def spread(exp):
    """Both directors take new connections; the real servers' shares follow their weights."""
    directors = list(exp['directors'])
    before = {d: probe(d, 'stats')['conns'] for d in directors}
    burst = probe(exp['client'], 'burst', '--vip', exp['vip'], '--count', '300', '--rate', '50')
    time.sleep(2.5)  # IPVS adds up its totals every 2 s (its rate estimator)
    after = {d: probe(d, 'stats')['conns'] for d in directors}
    conns = {d: after[d] - before[d] for d in directors}
    total_conns = sum(conns.values()) or 1
    answers = burst['answers']
    total = sum(answers.values()) or 1
    weight_sum = float(sum(exp['weights'].values()))
    shares = {rs: {'got': round(answers.get(rs, 0) / total, 3), 'expected': round(w / weight_sum, 3)}
              for rs, w in exp['weights'].items()}
    problems = []
    for d, n in conns.items():
        if n < 0.2 * total_conns:
            problems.append('%s took %d of %d new connections (< 20%%)' % (d, n, total_conns))
    for rs, share in shares.items():
        if abs(share['got'] - share['expected']) > exp['tolerance']:
            problems.append('%s answered %.1f%%, expected %.1f%% +- %.0f%%' % (
                rs, 100 * share['got'], 100 * share['expected'], 100 * exp['tolerance']))
    strangers = set(answers) - set(exp['weights'])
    if strangers or burst['failed']:
        problems.append('failed %d, answers from no declared real server: %s' % (len(burst['failed']), sorted(strangers)))
    return {'connections_per_director': conns, 'shares': shares, 'failed': len(burst['failed']),
            'problems': problems}


def same_flow(exp):
    """The same 60 connections (source address and port) sent through each director: the same real server."""
    argv = ['same-flow', '--vip', exp['vip'], '--count', '60']
    for address in exp['directors'].values():
        argv += ['--via', address]
    result = probe(exp['probe'], *argv)
    problems = []
    if result['different'] or result['failed'] or result['same'] != 60:
        problems.append('%d of 60 connections reached the same real server, %d failed' % (result['same'], result['failed']))
    if len(result['servers']) < len(exp['weights']):
        problems.append('only %s answered: the check needs flows on every real server' % sorted(result['servers']))
    result['problems'] = problems
    return result


def dump(director):
    return docker('exec', director, 'ipvsadm', '-S', '-n')


def wait_weight(exp, rs_address, weight, timeout=30):
    line = '-r %s:80 -g -w %d' % (rs_address, weight)
    end = time.time() + timeout
    while time.time() < end:
        if all(line in dump(d) for d in exp['directors']):
            return True
        time.sleep(1)
    return False


def web_down(exp):
    """A real server's web stops: every director's health check sets it to weight 0; none sends it anything."""
    rs, address = exp['web_down'], exp['real_servers'][exp['web_down']]
    problems = []
    docker('exec', rs, 'systemctl', 'stop', 'nginx')
    try:
        if not wait_weight(exp, address, 0):
            problems.append('not every director set %s to weight 0: %s' % (rs, {d: dump(d) for d in exp['directors']}))
        burst = probe(exp['client'], 'burst', '--vip', exp['vip'], '--count', '100', '--rate', '50')
        if rs in burst['answers'] or burst['failed']:
            problems.append('with its web stopped, %s answered %d times; %d requests failed' % (
                rs, burst['answers'].get(rs, 0), len(burst['failed'])))
    finally:
        docker('exec', rs, 'systemctl', 'start', 'nginx')
    weight = exp['weights'][rs]
    if not wait_weight(exp, address, weight):
        problems.append('%s did not come back at weight %d on every director' % (rs, weight))
    return {'real_server': rs, 'answers_while_down': burst['answers'], 'failed': len(burst['failed']),
            'problems': problems}


def maintenance(exp):
    """A director in maintenance (bgp_maintenance) under traffic: withdrawn first, no failed request; then back."""
    director = exp['maintenance_director']
    others = sorted(a for d, a in exp['directors'].items() if d != director)
    flag = '/tmp/bgp-maintenance.done'
    docker('exec', exp['client'], 'rm', '-f', flag)
    client = traffic(exp, 600, conns=4, until=flag)
    client.start()
    time.sleep(3)
    runs, problems = {}, []
    for name, vars_file, wanted in (('on', exp['vars_on'], others), ('off', exp['vars_off'], sorted(exp['directors'].values()))):
        started = time.time()
        run = subprocess.run(['ansible-playbook', '-i', exp['inventory'], '--limit', director, '-e', '@' + vars_file,
                              exp['playbook']], capture_output=True, text=True, check=False)
        runs[name] = {'rc': run.returncode, 'seconds': round(time.time() - started, 1)}
        if run.returncode != 0:
            problems.append('site.yml with maintenance %s: rc %d: %s' % (name, run.returncode, run.stdout[-3000:]))
        if not wait_via(exp, wanted, 30):
            problems.append('maintenance %s: the router routes the VIP via %s, expected %s' % (name, via_now(exp), wanted))
        runs[name]['via'] = via_now(exp)
        time.sleep(3)
    docker('exec', exp['client'], 'touch', flag)
    client.join()
    loop = failures(client.result['loop'])
    keep = keepalive_report(client.result['keepalives'])
    if loop['failed']:
        problems.append('%d of %d requests failed during the maintenance' % (loop['failed'], loop['requests']))
    if keep['survived'] != keep['total']:
        problems.append('long-lived connections: %d of %d survived' % (keep['survived'], keep['total']))
    return {'director': director, 'runs': runs, 'requests': loop, 'long_lived': keep, 'problems': problems}


def crash(exp):
    """A director dies under traffic (its link silent, then killed), then boots again under traffic."""
    victim = exp['crash_director']
    victim_address = exp['directors'][victim]
    survivors = sorted(a for d, a in exp['directors'].items() if d != victim)
    problems = []
    watch = route_watch(exp, 20)
    client = traffic(exp, 20, conns=16)
    watch.start()
    client.start()
    time.sleep(5)
    # the long-lived connections that go through the victim: its IPVS connection table, by client port
    table = docker('exec', victim, 'ipvsadm', '-L', '-n', '-c')
    # "TCP 14:59  ESTABLISHED 198.51.100.200:45678 203.0.113.10:80 192.0.2.21:80": the client's port
    through_victim = {line.split()[3].rsplit(':', 1)[1] for line in table.splitlines()
                      if ' ESTABLISHED ' in line and line.split()[3].startswith(exp['client_address'] + ':')}
    # A dead host says nothing: its link goes silent first (no TCP reset or BGP notification from a closing BIRD can
    # get out), then everything in it is killed. Only BFD (or the hold time) can tell the router.
    died_t = float(docker('exec', victim, 'sh', '-c', 'date +%s.%N; ip link set eth0 down').split()[0])
    docker('kill', victim)
    client.join()
    watch.join()
    died = datetime.datetime.fromtimestamp(died_t, datetime.timezone.utc).isoformat()
    loop = failures(client.result['loop'])
    dropped = [c for c in watch.result['changes'] if c['via'] == survivors]
    withdrawn_s = round(dropped[0]['t'] - died_t, 2) if dropped else None
    keep = keepalive_report(client.result['keepalives'], through_victim)
    keep_all = keepalive_report(client.result['keepalives'])
    if withdrawn_s is None:
        problems.append('the router kept routing via %s' % victim_address)
    if loop['failed'] > exp['crash_failed_max']:
        problems.append('%d new requests failed (target <= %d)' % (loop['failed'], exp['crash_failed_max']))
    if keep['total'] == 0:
        problems.append('no long-lived connection went through %s: nothing was measured' % victim)
    if keep['survived'] != keep['total'] or keep_all['survived'] != keep_all['total']:
        problems.append('long-lived connections: %d of %d through %s survived (%d of %d in all)' % (
            keep['survived'], keep['total'], victim, keep_all['survived'], keep_all['total']))
    report = {'director': victim, 'died': died, 'route_withdrawn_after_s': withdrawn_s, 'requests': loop,
              'long_lived_through_it': keep, 'long_lived_all': keep_all}

    # Back: booted, its units restore the VIP, table and announcement; connections moved to it keep their server.
    client = traffic(exp, 150, conns=16, until='/tmp/bgp-return.done')
    docker('exec', exp['client'], 'rm', '-f', '/tmp/bgp-return.done')
    client.start()
    time.sleep(3)
    started = time.time()
    docker('start', victim)
    back = wait_via(exp, sorted(exp['directors'].values()), 120)
    report['route_back_after_start_s'] = round(time.time() - started, 1) if back else None
    if not back:
        problems.append('the router did not route via %s again within 120 s of its start' % victim_address)
    time.sleep(8)
    docker('exec', exp['client'], 'touch', '/tmp/bgp-return.done')
    client.join()
    loop = failures(client.result['loop'])
    keep = keepalive_report(client.result['keepalives'])
    report['return'] = {'requests': loop, 'long_lived': keep}
    if loop['failed'] or keep['survived'] != keep['total']:
        problems.append('while %s came back: %d of %d requests failed, %d of %d long-lived connections survived' % (
            victim, loop['failed'], loop['requests'], keep['survived'], keep['total']))
    report['problems'] = problems
    return report


def main():
    check, expect_file = sys.argv[1], sys.argv[3]
    with open(expect_file) as handle:
        exp = json.load(handle)
    report = {'spread': spread, 'same-flow': same_flow, 'web-down': web_down, 'maintenance': maintenance,
              'crash': crash}[check](exp)
    print(json.dumps(report, indent=1, sort_keys=True))
    sys.exit(1 if report['problems'] else 0)


if __name__ == '__main__':
    main()
