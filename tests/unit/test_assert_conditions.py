# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every `that:` of every assert in the repository's YAML is a string (or a list of strings).

An unquoted condition holding ": " (e.g. search('host +: ok=')) is read by YAML as a mapping: the assert then
fails in the lab for a reason that has nothing to do with what it checks. ansible-lint does not see it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SKIP = ('.venv', 'build', '.lab', 'tests/output', 'changelogs')


def conditions(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'that':
                yield from (value if isinstance(value, list) else [value])
            else:
                yield from conditions(value)
    elif isinstance(node, list):
        for item in node:
            yield from conditions(item)


def test_every_assert_condition_is_a_string():
    bad, files = [], 0
    for path in sorted(ROOT.rglob('*.yml')):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(SKIP):
            continue
        try:
            document = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            continue  # Molecule files with Jinja at the top level; ansible-lint reads those
        files += 1
        bad += ['%s: %r' % (relative, item) for item in conditions(document) if not isinstance(item, (str, bool))]
    assert files > 50
    assert bad == []
