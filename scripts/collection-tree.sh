#!/usr/bin/env bash
# Make the repo importable as ansible_collections.lvs.cluster without installing it:
# build/collections/ansible_collections/lvs/cluster -> repo root. Prints the collections path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tree="$root/build/collections/ansible_collections/lvs"
mkdir -p "$tree"
ln -sfn "$root" "$tree/cluster"
echo "$root/build/collections"
