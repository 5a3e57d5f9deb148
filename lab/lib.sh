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

# qemu for the VM. TCG in qemu 10.0 ran a no-op site.yml about a sixth faster than Debian 12's qemu 7.2 (lab/README.md,
# "How it works"). Where the host's qemu is older than 10, the lab unpacks qemu-system-x86 from the release's
# backports into its cache (dpkg -x: nothing is installed; the libraries are those the release's own qemu, installed
# by ensure_host_tools, brought). Anything that fails there keeps the host's qemu, and a failed fetch is not tried
# again for a day. Sets LAB_QEMU (argv prefix). LVS_LAB_QEMU=system always takes the host's qemu;
# LVS_LAB_QEMU=/path/to/qemu-system-x86_64 that binary. Refresh: rm -rf "$LAB_CACHE"/qemu-*-backports.
LAB_QEMU_PACKAGES="qemu-system-x86 qemu-system-common qemu-system-data"
ensure_qemu() {
  LAB_QEMU=(qemu-system-x86_64)
  case ${LVS_LAB_QEMU:-auto} in
    system) return 0 ;;
    auto) ;;
    *) LAB_QEMU=("$LVS_LAB_QEMU"); return 0 ;;
  esac
  local major codename dir
  major=$(qemu-system-x86_64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p')
  [ "${major:-0}" -lt 10 ] || return 0
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 0
  dir=$LAB_CACHE/qemu-$codename-backports
  # its own lock, not build.lock: the caller may hold that one, and a second flock on it would wait forever
  if ! qemu_runs "$dir" && ! with_lock "$LAB_CACHE/qemu.lock" fetch_backports_qemu "$codename" "$dir"; then
    log "qemu from $codename-backports not available: the host's qemu $major is used (slower)"
    return 0
  fi
  # its own firmware and option ROMs first, then the BIOS from the host's seabios package
  LAB_QEMU=("$dir/usr/bin/qemu-system-x86_64" -L "$dir/usr/share/qemu" -L /usr/share/seabios)
}

# qemu_runs <dir>: the unpacked qemu starts with the host's libraries as they are now
qemu_runs() { "$1/usr/bin/qemu-system-x86_64" --version >/dev/null 2>&1; }

# fetch_backports_qemu <codename> <dir>: download and unpack, with apt's lists and caches kept out of the system's.
# Run under qemu.lock: another checkout sharing the cache may have fetched it meanwhile, or left a fetch half done.
fetch_backports_qemu() {
  local codename=$1 dir=$2 failed=$2.failed tmp mirror keyring="" deb
  qemu_runs "$dir" && return 0
  # a fetch that failed less than a day ago is not tried again at every `up`
  [ -n "$(find "$failed" -mmin -1440 2>/dev/null)" ] && return 1
  rm -rf "$dir" "$LAB_CACHE"/qemu-fetch.*
  mirror=$(lab_mirror 2>/dev/null) || { touch "$failed"; return 1; }
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] && keyring="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
  tmp=$(mktemp -d "$LAB_CACHE/qemu-fetch.XXXXXX") || return 1
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs" "$tmp/root"
  echo "deb ${keyring}$mirror $codename-backports main" >"$tmp/sources.list"
  local apt=(apt-get -qq -o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
             -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o APT::Sandbox::User=root)
  log "fetching qemu from $codename-backports (once, into the lab cache)"
  # shellcheck disable=SC2086  # the package list is words
  if "${apt[@]}" update >/dev/null && (cd "$tmp/debs" && "${apt[@]}" download $LAB_QEMU_PACKAGES >/dev/null) &&
     (for deb in "$tmp"/debs/*.deb; do dpkg -x "$deb" "$tmp/root" || exit 1; done) &&
     qemu_runs "$tmp/root" && mv -T "$tmp/root" "$dir"; then
    rm -rf "$tmp" "$failed"
    return 0
  fi
  rm -rf "$tmp"
  touch "$failed"
  return 1
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
