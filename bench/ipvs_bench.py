#!/usr/bin/env python
# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark lvs.cluster.ipvs against plain ipvsadm on ONE host with a real IPVS kernel.

  bench/ipvs_bench.py -i INVENTORY -H HOST [--services 1000] [--servers 10] [--sample 20] [--become]

(or LVS_BENCH_INVENTORY / LVS_BENCH_HOST). It CLEARS the host's IPVS table (ipvsadm -C) several times.
Runs one ansible-playbook with the ansible.posix.json callback, then prints a table of end-to-end task
times (controller view) and on-host times (measured on the host by bench/hosttime.py). See bench/README.md.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST_DIR = '/tmp/lvs-bench'
SAMPLE_VIP = '203.0.113.1:80'


def table(n_services, n_servers):
    """Services for the module and the identical ipvsadm -R rules (1000 x 10 by default)."""
    services, rules = [], []
    for i in range(n_services):
        vip, port = '192.0.2.%d' % (i % 250 + 1), 1000 + i
        services.append({'address': vip, 'port': port, 'scheduler': 'wrr',
                         'destinations': [{'address': '198.51.100.%d' % (j + 1), 'weight': 1}
                                          for j in range(n_servers)]})
        rules.append('-A -t %s:%d -s wrr' % (vip, port))
        rules.extend('-a -t %s:%d -r 198.51.100.%d:%d -g -w 1' % (vip, port, j + 1, port) for j in range(n_servers))
    return services, rules


def playbook(become):
    hosttime = ['python3', HOST_DIR + '/hosttime.py']
    restore = hosttime + ['--stdin', HOST_DIR + '/rules.txt', '--', 'ipvsadm-restore']
    clear = {'ansible.builtin.command': {'argv': ['ipvsadm', '-C']}, 'changed_when': True}
    module = {'lvs.cluster.ipvs': {'services': '{{ bench_services }}', 'purge': True}}
    on_host = {'ansible.builtin.command': {'argv': hosttime + ['--ansiballz', HOST_DIR + '/tmp', 'ipvs']},
               'changed_when': True}

    def task(name, body):
        return dict({'name': name}, **copy.deepcopy(body))

    tasks = [
        task('setup dir', {'ansible.builtin.file': {'path': HOST_DIR, 'state': 'directory', 'mode': '0700'}}),
        task('setup files', {'ansible.builtin.copy': {'src': '{{ item }}', 'dest': HOST_DIR + '/', 'mode': '0600'},
                             'loop': ['hosttime.py', 'rules.txt', 'sample.txt']}),
        task('P0 warm-up module', dict(module, check_mode=True)),
        task('P1 clear', clear),
        task('P1 module', module),
        task('P1 clear again', clear),
        task('P1 module on host', on_host),
        task('P2 clear', clear),
        task('P2 restore', {'ansible.builtin.command': {'argv': ['ipvsadm-restore'],
                                                        'stdin': "{{ lookup('ansible.builtin.file', 'rules.txt') }}"},
                            'changed_when': True}),
        task('P2 clear again', clear),
        task('P2 restore on host', {'ansible.builtin.command': {'argv': restore}, 'changed_when': True}),
        task('P3 setup', {'ansible.builtin.command': {
            'argv': hosttime + ['--stdin', HOST_DIR + '/sample.txt', '--', 'ipvsadm-restore']}, 'changed_when': True}),
        task('P3 loop', {'ansible.builtin.command': {'argv': '{{ item }}'}, 'loop': '{{ bench_sample_rules }}',
                         'changed_when': True}),
        task('P3 one rule on host', {'ansible.builtin.command': {'argv': '{{ bench_one_rule_timed }}'},
                                     'changed_when': True}),
        task('P4 setup', {'ansible.builtin.command': {'argv': restore}, 'changed_when': True}),
        task('P4 module', module),
        task('P4 module on host', on_host),
        task('P4 dump', {'ansible.builtin.command': {'argv': ['ipvsadm', '-S', '-n']}, 'changed_when': False}),
        task('P4 dump on host', {'ansible.builtin.command': {'argv': hosttime + ['--', 'ipvsadm', '-S', '-n']},
                                 'changed_when': False}),
        task('P5 module', {'lvs.cluster.ipvs': {'services': '{{ bench_services_changed }}', 'purge': True}}),
        task('P5 revert', {'ansible.builtin.command': {'argv': '{{ bench_revert }}'}, 'changed_when': True}),
        task('P5 module on host', on_host),
        task('cleanup', clear),
        # raw: the kept module files live in HOST_DIR, so do not run a module from there to delete it
        task('cleanup files', {'ansible.builtin.raw': 'rm -rf ' + HOST_DIR, 'changed_when': True}),
    ]
    return [{'name': 'IPVS benchmark', 'hosts': '{{ bench_host }}', 'gather_facts': False, 'become': become,
             'tasks': tasks}]


def timestamp(text):
    # ansible.posix.json writes datetime.isoformat() + 'Z'; isoformat drops .%f when it is 0
    fmt = '%Y-%m-%dT%H:%M:%S.%fZ' if '.' in text else '%Y-%m-%dT%H:%M:%SZ'
    return datetime.datetime.strptime(text, fmt)


def seconds(task):
    d = task['task']['duration']
    return (timestamp(d['end']) - timestamp(d['start'])).total_seconds()


def run(args):
    services, rules = table(args.services, args.servers)
    changed = copy.deepcopy(services)
    changed[len(changed) // 2]['destinations'][3]['weight'] = 2
    svc = changed[len(changed) // 2]
    revert = ['ipvsadm', '-e', '-t', '%s:%d' % (svc['address'], svc['port']),
              '-r', '198.51.100.4:%d' % svc['port'], '-g', '-w', '1']
    sample = [['ipvsadm', '-a', '-t', SAMPLE_VIP, '-r', '198.51.100.%d:80' % (n + 1), '-g', '-w', '1']
              for n in range(args.sample + 1)]

    work = tempfile.mkdtemp(prefix='lvs-bench-')
    try:
        with open(os.path.join(work, 'rules.txt'), 'w') as f:
            f.write('\n'.join(rules) + '\n')
        with open(os.path.join(work, 'sample.txt'), 'w') as f:
            f.write('-A -t %s -s wrr\n' % SAMPLE_VIP)
        shutil.copy(os.path.join(ROOT, 'bench', 'hosttime.py'), work)
        with open(os.path.join(work, 'vars.json'), 'w') as f:
            json.dump({'bench_host': args.host, 'bench_services': services, 'bench_services_changed': changed,
                       'bench_sample_rules': sample[:-1], 'bench_revert': revert,
                       'bench_one_rule_timed': ['python3', HOST_DIR + '/hosttime.py', '--'] + sample[-1]}, f)
        with open(os.path.join(work, 'bench.yml'), 'w') as f:
            json.dump(playbook(args.become), f, indent=1)  # JSON is valid YAML

        collections = subprocess.run([os.path.join(ROOT, 'scripts', 'collection-tree.sh')], check=True,
                                     stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
        env = dict(os.environ,
                   ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
                   ANSIBLE_COLLECTIONS_PATH=collections + os.pathsep + os.environ.get('ANSIBLE_COLLECTIONS_PATH', ''),
                   ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
                   # keep the module's AnsiballZ file on the host so hosttime.py can re-run it there
                   ANSIBLE_KEEP_REMOTE_FILES='1', ANSIBLE_PIPELINING='0',
                   ANSIBLE_REMOTE_TMP=HOST_DIR + '/tmp')
        print('running ansible-playbook against %s (%d services x %d real servers) ...'
              % (args.host, args.services, args.servers), file=sys.stderr)
        proc = subprocess.run(['ansible-playbook', '-i', args.inventory, '-l', args.host,
                               '-e', '@' + os.path.join(work, 'vars.json'), os.path.join(work, 'bench.yml')],
                              cwd=work, env=env, stdout=subprocess.PIPE, universal_newlines=True, check=False)
        report = json.loads(proc.stdout)
    finally:
        shutil.rmtree(work)
    tasks = dict((t['task']['name'], t) for t in report['plays'][0]['tasks'])
    failed = [n for n, t in tasks.items() if t['hosts'].get(args.host, {}).get('failed')]
    if failed or proc.returncode:
        for n in failed:
            print('FAILED %s: %s' % (n, tasks[n]['hosts'][args.host].get('msg')), file=sys.stderr)
        return 1
    print_report(args, tasks, len(rules))
    return 0


def print_report(args, tasks, n_rules):
    def res(name):
        return tasks[name]['hosts'][args.host]

    def host(name):
        return json.loads(res(name)['stdout'])

    e2e = dict((n, seconds(t)) for n, t in tasks.items())
    mod1, mod1h = res('P1 module'), host('P1 module on host')
    p3_rule, p3_rule_h = e2e['P3 loop'] / args.sample, host('P3 one rule on host')['seconds']
    rows = [
        ('(1) module, %d rules from empty' % len(mod1['commands']), e2e['P1 module'], mod1h['seconds']),
        ('(2) ipvsadm-restore, same %d rules' % n_rules, e2e['P2 restore'], host('P2 restore on host')['seconds']),
        ('(3) command loop, per rule (%d sampled)' % args.sample, p3_rule, p3_rule_h),
        ('    ... extrapolated to 10,000 rules', p3_rule * 10000, p3_rule_h * 10000),
        ('    ... extrapolated to %d rules' % n_rules, p3_rule * n_rules, p3_rule_h * n_rules),
        ('(4) module no-op rerun', e2e['P4 module'], host('P4 module on host')['seconds']),
        ('    plain ipvsadm -S -n dump', e2e['P4 dump'], host('P4 dump on host')['seconds']),
        ('(5) module, one weight changed', e2e['P5 module'], host('P5 module on host')['seconds']),
    ]
    print('%-44s %14s %14s' % ('', 'end-to-end s', 'on host s'))
    for label, a, b in rows:
        print('%-44s %14.3f %14.3f' % (label, a, b))
    print()

    def ratio(label, num, den, target, ok):
        print('%-52s %8.2fx %8.2fx   target %s' % (label, num[0] / den[0], num[1] / den[1], target)
              + ('' if ok(num[0] / den[0]) else '   <- MISSED end-to-end'))

    print('%-52s %9s %9s' % ('ratios', 'e2e', 'host'))
    ratio('module / ipvsadm-restore', rows[0][1:], rows[1][1:], '<= 1.3x', lambda r: r <= 1.3)
    ratio('per-rule loop (%d rules) / module' % n_rules, rows[4][1:], rows[0][1:], '>= 100x', lambda r: r >= 100)
    ratio('module no-op / plain dump', rows[5][1:], rows[6][1:], '<= 1.3x', lambda r: r <= 1.3)
    p4, p5, p5h = res('P4 module'), res('P5 module'), host('P5 module on host')['module']
    print('no-op rerun: changed=%s, %d commands (on host: changed=%s, %d)' % (
        p4['changed'], len(p4['commands']), host('P4 module on host')['module']['changed'],
        host('P4 module on host')['module']['commands']))
    print('one weight changed: %d command(s) %r (on host: %d)   target 1' % (
        len(p5['commands']), p5['commands'], p5h['commands']))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-i', '--inventory', default=os.environ.get('LVS_BENCH_INVENTORY'))
    parser.add_argument('-H', '--host', default=os.environ.get('LVS_BENCH_HOST'))
    parser.add_argument('--services', type=int, default=1000)
    parser.add_argument('--servers', type=int, default=10)
    parser.add_argument('--sample', type=int, default=20, help='rules in the per-rule command loop')
    parser.add_argument('--become', action='store_true', help='become root on the host')
    args = parser.parse_args()
    if not args.inventory or not args.host:
        parser.error('give --inventory and --host (or LVS_BENCH_INVENTORY and LVS_BENCH_HOST)')
    if args.servers < 4 or args.services < 1:
        parser.error('need at least 1 service and 4 real servers (the one-change case edits the 4th)')
    return run(args)


if __name__ == '__main__':
    sys.exit(main())
