#!/usr/bin/env bash
# ansible-test sanity needs the collection at .../ansible_collections/lvs/cluster and a git tree:
# copy the tracked and new files there and run it locally (no container engine on the controller).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/lvs/cluster"
mkdir -p "$dest"
# What ships: development-only trees (lab, CI, bench, scripts; see build_ignore in galaxy.yml) are
# checked by `make lint` (shellcheck) instead.
(cd "$root" && git ls-files --cached --others --exclude-standard |
  grep -Ev '^(lab|bench|scripts|\.ci)/' | tr '\n' '\0' | tar --null -T - -cf -) | tar -xf - -C "$dest"
cd "$dest"
git init -q && git add -A
# ansible-test bootstraps pip in its venvs with a script it downloads from a host we cannot reach.
pip_version=$(grep -ho "pip='[0-9.]*'" "$(python3 -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -n1 | tr -dc '0-9.')
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
for v in $pip_version; do cp "$root/scripts/get-pip-shim.py" "$cache/get_pip_${v//./_}.py"; done
python=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible-test sanity --color no --python "$python" --requirements "$@"
