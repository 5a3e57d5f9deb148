# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Debian releases each role's meta/main.yml claims are exactly those CI converges it on.

CI runs `make test`, whose molecule step runs the Makefile's SCENARIOS; each scenario's hosts name their release
in their image tag (lvs-lab/debian:${LVS_LAB_DEBIAN:-N}). A release added to or dropped from a scenario, or a
scenario added to or dropped from CI, must change the claim with it (and the other way round).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CODENAMES = {'11': 'bullseye', '12': 'bookworm', '13': 'trixie'}
# Which CI scenarios converge each role: every scenario runs site.yml (common, director, realserver, web);
# keepalived only where a scenario turns HA on.
ROLE_SCENARIOS = {
    'common': None, 'director': None, 'realserver': None, 'web': None,
    'keepalived': ['ha', 'life'],
}


def ci_scenarios():
    match = re.search(r'^SCENARIOS \?= (.+)$', (ROOT / 'Makefile').read_text(), re.M)
    assert match, 'Makefile: no SCENARIOS default'
    return match.group(1).split()


def scenario_releases(name):
    text = (ROOT / 'molecule' / name / 'molecule.yml').read_text()
    releases = set(re.findall(r'lvs-lab/debian:\$\{LVS_LAB_DEBIAN:-(\d+)\}', text))
    assert releases, '%s: no host names its release' % name
    assert releases <= set(CODENAMES), '%s: unknown release %s' % (name, sorted(releases - set(CODENAMES)))
    return {CODENAMES[r] for r in releases}


def test_ci_runs_every_role_scenario():
    for role, scenarios in ROLE_SCENARIOS.items():
        assert set(scenarios or []) <= set(ci_scenarios()), role


@pytest.mark.parametrize('role', sorted(ROLE_SCENARIOS))
def test_role_claims_what_ci_runs(role):
    meta = yaml.safe_load((ROOT / 'roles' / role / 'meta' / 'main.yml').read_text())
    claimed = {str(v) for p in meta['galaxy_info']['platforms'] if p['name'] == 'Debian' for v in p['versions']}
    run = set().union(*(scenario_releases(s) for s in ROLE_SCENARIOS[role] or ci_scenarios()))
    assert sorted(claimed) == sorted(run)


def test_dr_mixes_releases():
    # dr's cluster is the only one with two releases side by side (an upgrade half done).
    assert scenario_releases('dr') == {'bullseye', 'trixie'}
