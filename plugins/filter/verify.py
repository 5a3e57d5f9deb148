# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""distribution_report: compare the answers a client got from a VIP with what the weights promise.

Used by playbooks/verify.yml. Every real server answers with its inventory hostname (lvs.cluster.web),
so counting bodies tells how the director spread the connections.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# The share of each server follows the weights only for these (rr gives every server with a weight above 0 the
# same share: IPVS's rr skips weight 0 and ignores the rest); the others (least-connection, hashing, ...) are only
# required to use every server with a weight above 0.
PROPORTIONAL = ('rr', 'wrr')
# From one client these send everything to one server: only "answers come from the declared servers".
STICKY = ('sh', 'dh', 'mh', 'lblc', 'lblcr')


def _label(real_server):
    # An address-only real server (not in inventory) is expected to answer with its address.
    return real_server.get('host') or real_server.get('address')


def _mode(service):
    if service.get('persistence'):
        return 'sticky'
    if service.get('scheduler') in PROPORTIONAL:
        return 'proportional'
    if service.get('scheduler') in STICKY:
        return 'sticky'
    return 'all-answer'


def _pct(value):
    return '%5.1f%%' % (100.0 * value)


def _table(report):
    lines = ['%s  %s  scheduler %s  %d requests  (%s)' % (
        report['service'], report['target'], report['scheduler'], report['total'], report['mode'])]
    lines.append('  %-24s %6s %10s %8s %7s  %s' % ('server', 'weight', 'expected', 'got', 'got %', 'ok'))
    for row in report['rows']:
        expected = _pct(row['expected_share']) if row['expected_share'] is not None else '-'
        lines.append('  %-24s %6d %10s %8d %7s  %s' % (
            row['server'], row['weight'], expected, row['count'], _pct(row['share']), 'ok' if row['ok'] else 'FAIL'))
    for body, count in sorted(report['unexpected'].items()):
        lines.append('  %-24s %6s %10s %8d %7s  FAIL' % (body, '-', '-', count,
                                                         _pct(count / report['total'] if report['total'] else 0)))
    return lines


def _service_report(service, answers, tolerance):
    answers = dict(answers or {})
    total = sum(answers.values())
    mode = _mode(service)
    servers = service['real_servers']
    # rr counts every server with a weight above 0 as 1
    shares = [min(rs['weight'], 1) if service.get('scheduler') == 'rr' else rs['weight'] for rs in servers]
    weight_sum = sum(shares)
    problems = []
    rows = []
    for rs, rs_share in zip(servers, shares):
        label = _label(rs)
        count = answers.pop(label, 0)
        share = float(count) / total if total else 0.0
        expected = None
        if mode == 'proportional':
            expected = float(rs_share) / weight_sum if weight_sum else 0.0
        ok = True
        if rs['weight'] == 0 and count > 0:
            ok = False
            problems.append('%s has weight 0 but answered %d times' % (label, count))
        elif mode == 'proportional' and expected > 0 and count == 0:
            ok = False
            problems.append('%s never answered (expected %s)' % (label, _pct(expected).strip()))
        elif mode == 'proportional' and abs(share - expected) > tolerance:
            ok = False
            problems.append('%s answered %s, expected %s +- %s' % (
                label, _pct(share).strip(), _pct(expected).strip(), _pct(tolerance).strip()))
        elif mode == 'all-answer' and rs['weight'] > 0 and count == 0:
            ok = False
            problems.append('%s never answered' % label)
        rows.append({'server': label, 'address': rs.get('address'), 'weight': rs['weight'],
                     'expected_share': expected, 'count': count, 'share': share, 'ok': ok})
    # What is left did not come from a declared real server: errors, timeouts or a stranger.
    for body, count in sorted(answers.items()):
        problems.append('%d answers came from no declared real server: %r' % (count, body))
    if total == 0:
        problems.append('no answer at all')
    problems = ['%s: %s' % (service['name'], problem) for problem in problems]
    report = {'service': service['name'], 'target': '%s:%s' % (
        '[%s]' % service['vip'] if ':' in service['vip'] else service['vip'], service['port']),
        'scheduler': service['scheduler'], 'mode': mode, 'total': total, 'rows': rows,
        'unexpected': answers, 'problems': problems, 'ok': not problems}
    report['table'] = _table(report)
    return report


def distribution_report(results, services, tolerance=0.1):
    """results: {service name: {body: count}} from http_probe.py; services: normalised services.

    Returns one report per probed service, in the order of services.
    """
    if not isinstance(results, Mapping):
        raise AnsibleFilterError('distribution_report: input must be the probe result {service: {body: count}}, '
                                 'got %s' % type(results).__name__)
    if not isinstance(services, (list, tuple)) or not all(
            isinstance(s, Mapping) and 'real_servers' in s for s in services):
        raise AnsibleFilterError('distribution_report: services must be the output of lvs.cluster.virtual_services')
    try:
        tolerance = float(tolerance)
    except (TypeError, ValueError):
        raise AnsibleFilterError('verify_tolerance: must be a number between 0 and 1, got %r' % (tolerance,))
    if not 0 <= tolerance <= 1:
        raise AnsibleFilterError('verify_tolerance: must be between 0 and 1, got %r' % (tolerance,))
    reports = []
    for service in services:
        if service['name'] not in results:
            continue
        answers = results[service['name']]
        if not isinstance(answers, Mapping) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in answers.values()):
            raise AnsibleFilterError('distribution_report: results[%r] must map bodies to counts' % service['name'])
        reports.append(_service_report(service, answers, tolerance))
    return reports


class FilterModule:
    def filters(self):
        return {'distribution_report': distribution_report}
