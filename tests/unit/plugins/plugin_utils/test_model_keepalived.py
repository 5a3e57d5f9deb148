# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service keys only keepalived reads: health_check, sorry_server, quorum, hysteresis, inhibit_on_failure."""

from __future__ import annotations

import copy

import pytest

# A valid DR service; keyword arguments replace (or, with None, drop) keys.
from ansible_collections.lvs.cluster.tests.unit.plugins.plugin_utils.test_model import web

from ansible_collections.lvs.cluster.plugins.plugin_utils.model import (
    HEALTH_CHECK_DEFAULTS,
    ModelError,
    normalise_services,
)

HOSTVARS = {'web1': {'ansible_host': '192.0.2.11'}, 'web2': {'ansible_host': '192.0.2.12'}}
GROUPS = {'all': list(HOSTVARS), 'lvs_real_servers': ['web1', 'web2']}
P0 = 'lvs_virtual_services[0] (web)'
HC = P0 + '.health_check'
FWMARK = {'vip': None, 'port': None, 'fwmark': 7}  # real servers from the group: no port


def hc(**check):
    return web(health_check=check)


def normalise(*services):
    return normalise_services(copy.deepcopy(list(services)), HOSTVARS, GROUPS)


BAD = [
    ('type-unknown', hc(type='icmp'), HC + ".type: unknown health check type 'icmp' (one of tcp_check, http_get, "
                                           "misc_check, none)"),
    ('status-code-99', hc(type='http_get', status_code=99), HC + '.status_code: 99 is outside 100..599'),
    ('status-code-600', hc(type='http_get', status_code=600), HC + '.status_code: 600 is outside 100..599'),
    ('delay-loop-0', hc(delay_loop=0), HC + '.delay_loop: 0 is outside 1..86400'),
    ('retries-negative', hc(retries=-1), HC + '.retries: -1 is outside 0..100'),
    ('timeout-string', hc(connect_timeout='3'), HC + ".connect_timeout: must be an integer 1..3600, got str '3'"),
    ('timeout-bool', hc(timeout=True), HC + '.timeout: must be an integer 1..3600, got bool True'),
    ('misc-without-script', hc(type='misc_check'), HC + '.script: is required with type misc_check'),
    ('misc-relative-script', hc(type='misc_check', script='bin/check'),
     HC + ".script: must be an absolute command path plus arguments, printable ASCII without double quotes, "
          "backslashes, braces or $, got str 'bin/check'"),
    ('misc-script-quote', hc(type='misc_check', script='/bin/check "x"'), HC + '.script: must be an absolute command'),
    ('misc-script-newline', hc(type='misc_check', script='/bin/check\n'), HC + '.script: must be an absolute command'),
    ('misc-script-dollar', hc(type='misc_check', script='/bin/check $HOME'), HC + '.script: must be an absolute command'),
    ('path-trailing-newline', hc(type='http_get', path='/healthz\n'), HC + ".path: must be a URL path starting with /"),
    ('path-non-ascii', hc(type='http_get', path='/caf\u00e9'), HC + ".path: must be a URL path starting with /"),
    ('script-for-tcp-check', hc(script='/bin/check'),
     HC + '.script: is only used with type misc_check (this check is tcp_check)'),
    ('path-relative', hc(type='http_get', path='healthz'), HC + ".path: must be a URL path starting with /"),
    ('path-space', hc(type='http_get', path='/a b'), HC + ".path: must be a URL path starting with /"),
    # keepalived reads an unquoted # or ! as the start of a comment: path /a#b would check /a
    ('path-hash', hc(type='http_get', path='/a#b'), HC + ".path: must be a URL path starting with /"),
    ('path-bang', hc(type='http_get', path='/a!b'), HC + ".path: must be a URL path starting with /"),
    ('unknown-key', hc(intervall=5), HC + ': unknown key(s) intervall (allowed: type, path,'),
    ('not-a-dict', web(health_check='tcp_check'), HC + ': must be a mapping (dict), got str'),
    ('fwmark-tcp-check-without-port', web(health_check={'type': 'tcp_check'}, **FWMARK),
     HC + ".type: tcp_check needs a port: give this fwmark service's real servers a port, or use misc_check or none"),
    ('fwmark-http-get-without-port', web(health_check={'type': 'http_get'}, **FWMARK), HC + '.type: http_get needs a port'),
    ('sorry-bad-address', web(sorry_server={'address': '192.0.2.300'}),
     P0 + ".sorry_server.address: must be a unicast IPv4 or IPv6 address (or loopback), got str '192.0.2.300'"),
    ('sorry-multicast', web(sorry_server={'address': '224.0.0.1'}),
     P0 + '.sorry_server.address: must be a unicast IPv4 or IPv6 address (or loopback), got 224.0.0.1 (multicast)'),
    ('sorry-no-address', web(sorry_server={'port': 80}), P0 + '.sorry_server.address: must be a unicast'),
    ('sorry-ipv6-for-ipv4', web(sorry_server={'address': '2001:db8::50'}),
     P0 + '.sorry_server.address: 2001:db8::50 is IPv6 but the service is IPv4'),
    ('sorry-port-remap-dr', web(sorry_server={'address': '192.0.2.50', 'port': 8080}),
     P0 + '.sorry_server.port: 8080 must equal the service port 80 with forwarding dr'),
    ('sorry-port-zero', web(sorry_server={'address': '192.0.2.50', 'port': 0}), P0 + '.sorry_server.port: 0 is outside 1..65535'),
    ('sorry-unknown-key', web(sorry_server={'address': '192.0.2.50', 'weight': 1}), P0 + '.sorry_server: unknown key(s) weight'),
    ('sorry-not-a-dict', web(sorry_server='192.0.2.50'), P0 + '.sorry_server: must be a mapping {address: ..., port: ...}, got str'),
    ('quorum-0', web(quorum=0), P0 + '.quorum: 0 is outside 1..4294967295'),
    ('quorum-string', web(quorum='2'), P0 + ".quorum: must be an integer 1..4294967295, got str '2'"),
    ('hysteresis-equals-quorum', web(quorum=2, hysteresis=2), P0 + '.hysteresis: 2 must be below quorum 2'),
    ('hysteresis-default-quorum', web(hysteresis=1), P0 + '.hysteresis: 1 must be below quorum 1'),
    ('inhibit-string', web(inhibit_on_failure='yes'), P0 + ".inhibit_on_failure: must be true or false, got str 'yes'"),
]


@pytest.mark.parametrize('service, expected', [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_keepalived_key_gives_one_error_naming_the_field(service, expected):
    with pytest.raises(ModelError) as info:
        normalise(service)
    assert len(info.value.errors) == 1 and info.value.errors[0].startswith(expected), info.value.errors


def test_defaults():
    (svc,) = normalise(web())
    assert svc['health_check'] == HEALTH_CHECK_DEFAULTS == {
        'type': 'tcp_check', 'path': '/', 'status_code': 200, 'script': None, 'connect_timeout': 3, 'timeout': 5,
        'retries': 1, 'delay_before_retry': 1, 'delay_loop': 5}
    assert (svc['sorry_server'], svc['quorum'], svc['hysteresis'], svc['inhibit_on_failure']) == (None, 1, 0, False)


@pytest.mark.parametrize('check, expected', [
    ({'type': 'http_get', 'path': '/healthz?full=1', 'status_code': 204, 'retries': 0},
     dict(HEALTH_CHECK_DEFAULTS, type='http_get', path='/healthz?full=1', status_code=204, retries=0)),
    ({'type': 'misc_check', 'script': '/usr/local/bin/check-app --quick', 'timeout': 10, 'delay_loop': 86400},
     dict(HEALTH_CHECK_DEFAULTS, type='misc_check', script='/usr/local/bin/check-app --quick', timeout=10,
          delay_loop=86400)),
    ({'type': 'none'}, dict(HEALTH_CHECK_DEFAULTS, type='none')),
    (None, HEALTH_CHECK_DEFAULTS),
], ids=['http_get', 'misc_check', 'none', 'null'])
def test_health_check_overrides_keep_the_other_defaults(check, expected):
    (svc,) = normalise(web(health_check=check))
    assert svc['health_check'] == expected


@pytest.mark.parametrize('service, expected_type', [
    (web(**FWMARK), 'none'),  # real servers without port: nothing to connect to
    (web(health_check={'type': 'misc_check', 'script': '/bin/true'}, **FWMARK), 'misc_check'),
    (web(real_servers=[{'address': '192.0.2.30', 'port': 8080}], **FWMARK), 'tcp_check'),  # ports given: checkable
    (web(fwmark=7), 'tcp_check'),  # fwmark with vip and port: real servers inherit the port
], ids=['portless-default', 'portless-misc', 'rs-with-port', 'service-port'])
def test_fwmark_default_check_depends_on_real_server_ports(service, expected_type):
    (svc,) = normalise(service)
    assert svc['health_check']['type'] == expected_type


@pytest.mark.parametrize('service, expected', [
    (web(sorry_server={'address': '192.0.2.50'}), {'address': '192.0.2.50', 'port': 80}),
    (web(sorry_server={'address': '192.0.2.50', 'port': 80}), {'address': '192.0.2.50', 'port': 80}),
    (web(forwarding='nat', gateway='192.0.2.1', sorry_server={'address': '192.0.2.50', 'port': 8080}),
     {'address': '192.0.2.50', 'port': 8080}),  # nat may remap the port
    (web(sorry_server={'address': '192.0.2.50'}, **FWMARK), {'address': '192.0.2.50', 'port': None}),
    (web(vip='2001:DB8::100', real_servers=[{'address': '2001:db8::11'}], sorry_server={'address': '2001:DB8::50'}),
     {'address': '2001:db8::50', 'port': 80}),
    # keepalived's sorry server may be the director itself: loopback is allowed here (and only here).
    (web(sorry_server={'address': '127.0.0.1', 'port': 80}), {'address': '127.0.0.1', 'port': 80}),
    (web(vip='2001:db8::100', real_servers=[{'address': '2001:db8::11'}], sorry_server={'address': '::1'}),
     {'address': '::1', 'port': 80}),
], ids=['port-from-service', 'same-port', 'nat-remap', 'fwmark', 'ipv6-canonical', 'loopback-v4', 'loopback-v6'])
def test_sorry_server(service, expected):
    (svc,) = normalise(service)
    assert svc['sorry_server'] == expected


def test_quorum_hysteresis_inhibit():
    (svc,) = normalise(web(quorum=3, hysteresis=2, inhibit_on_failure=True))
    assert (svc['quorum'], svc['hysteresis'], svc['inhibit_on_failure']) == (3, 2, True)


def test_errors_of_several_keepalived_keys_are_reported_at_once():
    with pytest.raises(ModelError) as info:
        normalise(web(health_check={'type': 'misc_check', 'retries': -1}, quorum=0, inhibit_on_failure=1))
    assert [line.split(':')[0] for line in info.value.errors] == [
        HC + '.retries', HC + '.script', P0 + '.quorum', P0 + '.inhibit_on_failure']
