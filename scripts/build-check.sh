#!/usr/bin/env bash
# Build the collection tarball, install it into a throwaway path (dependencies come from the `ansible`
# package, Galaxy is not used) and syntax-check the installed playbooks against the example inventories.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
ansible-galaxy collection build --force --output-path "$work/dist" . >/dev/null
tarball=$(ls "$work"/dist/lvs-cluster-*.tar.gz)
echo "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"
# Only the installed copy: no repo checkout on the collections path, and no repo ansible.cfg.
cd "$work"
printf '[defaults]\n' >"$work/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_CONFIG="$work/ansible.cfg"
ansible-galaxy collection install --no-deps -p "$work/collections" "$tarball" >/dev/null
for inv in "$root"/inventory/*/; do
  for pb in lvs.cluster.site lvs.cluster.verify lvs.cluster.status lvs.cluster.rolling lvs.cluster.decommission; do
    ansible-playbook "$pb" -i "$inv" --syntax-check >/dev/null
    echo "syntax ok: $pb -i inventory/$(basename "$inv")"
  done
done
