# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Debian releases each role's meta/main.yml claims are exactly those CI converges it on.

CI runs `make test`, whose molecule step runs the Makefile's SCENARIOS; each scenario's hosts name their release
in their image tag (lvs-lab/debian:${LVS_LAB_DEBIAN:-N}) and their part in their groups. A role counts a host's
release only where it runs on that host. A release added to or dropped from a scenario's directors or real
servers, or a scenario added to or dropped from CI, must change the claim with it (and the other way round).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CODENAMES = {'11': 'bullseye', '12': 'bookworm', '13': 'trixie'}
IMAGE = re.compile(r'^lvs-lab/debian:\$\{LVS_LAB_DEBIAN:-(\d+)\}$')
# Where each role runs (site.yml): on the hosts of these groups, in these scenarios (None: every CI scenario).
ROLES = {
    'common': ({'lvs_directors', 'lvs_real_servers', 'lvs_web_servers'}, None),
    'director': ({'lvs_directors'}, None),
    'realserver': ({'lvs_real_servers'}, None),
    'web': ({'lvs_web_servers'}, None),
    'keepalived': ({'lvs_directors'}, ['ha', 'life', 'bgp']),   # the scenarios that turn HA on, and bgp's checkers
    'bgp': ({'lvs_directors'}, ['bgp']),
}


def ci_scenarios():
    match = re.search(r'^SCENARIOS \?=([^#\n]+)', (ROOT / 'Makefile').read_text(), re.M)
    assert match, 'Makefile: no SCENARIOS default'
    return match.group(1).split()


def hosts(scenario):
    """(release codename, groups) of each platform; every image must name its release the lab's way."""
    platforms = yaml.safe_load((ROOT / 'molecule' / scenario / 'molecule.yml').read_text())['platforms']
    found = []
    for platform in platforms:
        match = IMAGE.match(platform['image'])
        assert match, '%s %s: image %s does not name its release' % (scenario, platform['name'], platform['image'])
        assert match.group(1) in CODENAMES, '%s %s: unknown release' % (scenario, platform['name'])
        found.append((CODENAMES[match.group(1)], set(platform.get('groups', []))))
    return found


def releases(groups, scenarios):
    return {release for s in scenarios for release, host_groups in hosts(s) if host_groups & groups}


def test_every_role_is_counted():
    assert set(ROLES) == {p.name for p in (ROOT / 'roles').iterdir() if p.is_dir()}
    for role, (_groups, scenarios) in ROLES.items():
        assert set(scenarios or []) <= set(ci_scenarios()), role


@pytest.mark.parametrize('role', sorted(ROLES))
def test_role_claims_what_ci_runs(role):
    meta = yaml.safe_load((ROOT / 'roles' / role / 'meta' / 'main.yml').read_text())
    claimed = {str(v) for p in meta['galaxy_info']['platforms'] if p['name'] == 'Debian' for v in p['versions']}
    groups, scenarios = ROLES[role]
    assert sorted(claimed) == sorted(releases(groups, scenarios or ci_scenarios()))


def test_dr_mixes_releases():
    # dr's cluster has two releases side by side (an upgrade half done), directors and real servers alike.
    assert releases({'lvs_directors', 'lvs_real_servers'}, ['dr']) == {'bullseye', 'trixie'}
    assert releases({'lvs_directors'}, ['dr']) == {'bullseye'}
