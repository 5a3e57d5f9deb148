# shellcheck shell=bash disable=SC2034  # sourced; the variables are used by the scripts
# Shared helpers for the IPVS lab scripts (sourced, not executed).
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
LAB_CACHE=${LVS_LAB_CACHE:-$HOME/.cache/lvs-cluster-lab}
LAB_RUN=${LVS_LAB_RUN:-$REPO_DIR/.lab}      # per-checkout state: VM overlays, pid, env
LAB_PORT=${LVS_LAB_PORT:-23750}              # host port forwarded to the VM's Docker API
LAB_MEM=${LVS_LAB_MEM:-6144}
LAB_SMP=${LVS_LAB_SMP:-2}
LAB_SUITES=${LVS_LAB_SUITES:-"12 11 13"}     # container images; 12 first, the roles' default
VM_SUITE=bookworm                            # VM userland and kernel (cloud kernel has IP_VS)

log() { printf '%s lab: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

suite_name() {
  case $1 in 11) echo bullseye ;; 12) echo bookworm ;; 13) echo trixie ;; *) die "unknown release $1" ;; esac
}

# Debian mirror: taken from this host's apt configuration so no host name is hard-coded here.
lab_mirror() {
  if [ -n "${LVS_LAB_MIRROR:-}" ]; then echo "$LVS_LAB_MIRROR"; return; fi
  local m
  m=$( { awk '/^URIs:/{for(i=2;i<=NF;i++) print $i}' /etc/apt/sources.list.d/*.sources 2>/dev/null
         awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; break}}' \
           /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null; } |
       grep -E '/debian/?$' | head -n1)
  [ -n "$m" ] || die "no Debian mirror found in /etc/apt; set LVS_LAB_MIRROR"
  echo "$m"
}

# Cache key: hash of the files that define an artifact plus extra words (suite, versions).
input_hash() {
  local extra=$1; shift
  { printf '%s\n' "$extra"; cat "$@"; } | sha256sum | cut -c1-12
}

# Run "$@" with an exclusive lock on file $1 (serialises builds and up/down).
# LAB_LOCK_FDS lets long-lived children (qemu -daemonize) drop the fds so they do not keep the lock.
LAB_LOCK_FDS=()
with_lock() {
  local lockfile=$1 lock_fd rc=0; shift
  mkdir -p "$(dirname "$lockfile")"
  exec {lock_fd}>"$lockfile"
  flock "$lock_fd"
  LAB_LOCK_FDS+=("$lock_fd")
  "$@" || rc=$?
  unset 'LAB_LOCK_FDS[-1]'
  exec {lock_fd}>&-
  return $rc
}

close_lock_fds() { local fd; for fd in "${LAB_LOCK_FDS[@]}"; do eval "exec $fd>&-"; done; }

# LVS_LAB_VM: the engine is the lab VM's, whose host side (its /etc/modprobe.d, its modules) a scenario may change.
docker_env() {
  printf '%s\n' "export DOCKER_HOST=tcp://127.0.0.1:$LAB_PORT" "export LVS_LAB_VM=1" "export LVS_LAB_VM_MODPROBE_D=/etc/modprobe.d"
}

# Host-side docker client for the lab engine.
lab_docker() { DOCKER_HOST=tcp://127.0.0.1:$LAB_PORT docker "$@"; }

# Host tools the lab needs, from Debian's packages when missing: CI and newcomers start from a bare machine.
ensure_host_tools() {
  local need=() pair
  for pair in qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils debootstrap:debootstrap \
              mkfs.ext4:e2fsprogs cpio:cpio flock:util-linux docker:docker.io; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  log "installing host packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}
