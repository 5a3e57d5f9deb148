#!/bin/bash
# Costs of the basic operations in the lab engine: docker run of a systemd container, docker exec,
# and an Ansible ping through the community.docker.docker connection (3 runs each).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# The engine chosen by `lab/lab.sh up` wins over an inherited DOCKER_HOST.
if [ -f "$LAB_RUN/env" ]; then . "$LAB_RUN/env"; fi
[ -n "${DOCKER_HOST:-}" ] || die "run lab/lab.sh up first"
export DOCKER_HOST
IMAGE=${LVS_LAB_IMAGE:-lvs-lab/debian:12}
ANSIBLE=${ANSIBLE:-$REPO_DIR/.venv/bin/ansible}
C=lvs-measure
work=$(mktemp -d "$LAB_RUN/measure.XXXX")
trap 'docker rm -f $C >/dev/null 2>&1; rm -rf "$work"' EXIT

secs() { local t0; t0=$(date +%s.%N); "$@" >/dev/null; echo "scale=2; ($(date +%s.%N) - $t0)/1" | bc; }

docker rm -f $C >/dev/null 2>&1 || true
echo "docker run (systemd container): $(secs docker run -d --name $C --privileged --cgroupns host \
  -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /tmp "$IMAGE")s"
for _ in $(seq 60); do docker exec $C systemctl is-system-running --wait 2>/dev/null | grep -qE "running|degraded" && break; sleep 1; done
for i in 1 2 3; do echo "docker exec true #$i: $(secs docker exec $C true)s"; done

printf '[lab]\n%s ansible_connection=community.docker.docker ansible_host=%s ansible_python_interpreter=/usr/bin/python3\n' $C $C >"$work/hosts"
for i in 1 2 3; do
  echo "ansible ping #$i: $(secs env ANSIBLE_PIPELINING=1 ANSIBLE_HOST_KEY_CHECKING=0 \
    "$ANSIBLE" -i "$work/hosts" lab -m ansible.builtin.ping)s"
done
