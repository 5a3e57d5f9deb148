#!/bin/bash
# IPVS lab: a Docker engine on a kernel with IP_VS for Molecule and the self-test.
#   up      print `export DOCKER_HOST=...` (also written to .lab/env); local engine if its kernel has
#           IP_VS, else boot the cached qemu VM on a throwaway overlay (building it first if needed)
#   down    stop the VM, drop its overlay        status   show what runs
#   build   build all cached artifacts           images   ensure lvs-lab/debian:* exist in the engine
# Env: LVS_LAB_MODE=auto|vm|local, LVS_LAB_CACHE, LVS_LAB_PORT, LVS_LAB_MEM, LVS_LAB_SMP, LVS_LAB_SUITES, LVS_LAB_QEMU
set -euo pipefail
. "$(dirname "$0")/lib.sh"
VMRUN=$LAB_RUN/vm
ENV_FILE=$LAB_RUN/env

# ---- cache keys: a change to a build script or package list gives a new key -------------------
# Computed once per run so that editing the scripts during a build cannot mix keys.
VM_KEY=$(input_hash "$VM_SUITE" "$LAB_DIR/slim-rootfs.sh" "$LAB_DIR/build-vm.sh" "$LAB_DIR/vm-init.sh" "$LAB_DIR/vm-packages.txt")
declare -A IMAGE_KEY
for r in $LAB_SUITES; do
  IMAGE_KEY[$r]=$(input_hash "$r" "$LAB_DIR/slim-rootfs.sh" "$LAB_DIR/build-image.sh" "$LAB_DIR/image-packages.txt" \
    "$LAB_DIR/lvs_lab_pyc.py")
done
BASE_KEY=$(for r in $LAB_SUITES; do echo "$r=${IMAGE_KEY[$r]}"; done | input_hash "vm=$VM_KEY import=v1" -)
image_key() { echo "${IMAGE_KEY[$1]:-}"; }
vm_dir() { echo "$LAB_CACHE/vm-$VM_KEY"; }
image_tar() { echo "$LAB_CACHE/image-$1-${IMAGE_KEY[$1]}.tar"; }
base_img() { echo "$LAB_CACHE/base-$BASE_KEY.img"; }

stage() { # stage <name> <cmd...>: run and log the duration
  local name=$1 t0=$SECONDS; shift
  log "stage $name: start"
  "$@"
  log "stage $name: done in $((SECONDS - t0))s"
}

ensure_vm() { [ -f "$(vm_dir)/root.img" ] || stage vm "$LAB_DIR/build-vm.sh" "$(vm_dir)"; }
ensure_image_tar() { [ -f "$(image_tar "$1")" ] || stage "image-$1" "$LAB_DIR/build-image.sh" "$1" "$(image_tar "$1")"; }

# ---- qemu --------------------------------------------------------------------------------------
# boot_vm <rundir> <disk> <format> <cache> <port>
boot_vm() {
  local run=$1 disk=$2 fmt=$3 cache=$4 port=$5 vm
  vm=$(vm_dir)
  mkdir -p "$run"; rm -f "$run"/ctl.in "$run"/ctl.out "$run"/console.log
  mkfifo "$run/ctl.in" "$run/ctl.out"
  # KVM is not usable on these hosts (see README), so software emulation with 2 threads.
  ensure_qemu
  ( close_lock_fds
  exec "${LAB_QEMU[@]}" -name lvs-lab -accel tcg,thread=multi -smp "$LAB_SMP" -m "$LAB_MEM" \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$vm/vmlinuz" -initrd "$vm/initrd.gz" -append "console=ttyS0 quiet panic=-1" \
    -drive "file=$disk,if=virtio,format=$fmt,cache=$cache,discard=unmap" \
    -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:2375" -device virtio-net-pci,netdev=n0 \
    -device virtio-rng-pci \
    -serial "file:$run/console.log" -serial "pipe:$run/ctl" \
    -pidfile "$run/qemu.pid" -daemonize )
}

vm_pid_alive() { [ -f "$1/qemu.pid" ] && kill -0 "$(cat "$1/qemu.pid")" 2>/dev/null; }

api_ok() { DOCKER_HOST=tcp://127.0.0.1:$1 timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

wait_api() { # wait_api <rundir> <port>
  local t0=$SECONDS
  until api_ok "$2"; do
    vm_pid_alive "$1" || { tail -n 40 "$1/console.log" >&2; die "VM exited during boot"; }
    [ $((SECONDS - t0)) -lt 600 ] || { tail -n 40 "$1/console.log" >&2; die "Docker API not up after 600s"; }
    sleep 1
  done
}

poweroff_vm() { # clean shutdown through the control serial port; waits for qemu to exit
  local run=$1 pid
  pid=$(cat "$run/qemu.pid")
  echo poweroff >"$run/ctl.in"
  for _ in $(seq 240); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  die "VM did not power off"
}

# ---- images ------------------------------------------------------------------------------------
import_image() { # import_image <release> (DOCKER_HOST set by caller)
  local rel=$1 key tar
  key=$(image_key "$rel"); tar=$(image_tar "$rel")
  docker import -m "lvs-lab debian $rel" "$tar" "lvs-lab/debian:$rel-rootfs" >/dev/null
  # `docker import --change` cannot set STOPSIGNAL; a metadata-only build can (no pull, no RUN).
  printf '%s\n' "FROM lvs-lab/debian:$rel-rootfs" 'ENV container=docker' 'STOPSIGNAL SIGRTMIN+3' \
    "LABEL lvs-lab.key=$key" 'CMD ["/sbin/init"]' >"$LAB_CACHE/tmp.Dockerfile.$$"
  local out  # the legacy builder prints a deprecation notice: show output only on failure
  out=$(docker build -q -t "lvs-lab/debian:$rel" - <"$LAB_CACHE/tmp.Dockerfile.$$" 2>&1) || { echo "$out" >&2; return 1; }
  rm -f "$LAB_CACHE/tmp.Dockerfile.$$"
  docker rmi "lvs-lab/debian:$rel-rootfs" >/dev/null
}

image_current() { # image_current <release>: present and built from today's inputs
  [ "$(docker image inspect -f '{{index .Config.Labels "lvs-lab.key"}}' "lvs-lab/debian:$1" 2>/dev/null)" = "$(image_key "$1")" ]
}

ensure_images() { # in the engine DOCKER_HOST points at
  local rel
  for rel in $LAB_SUITES; do
    image_current "$rel" && continue
    ensure_image_tar "$rel"
    stage "import-$rel" import_image "$rel"
  done
}

build_base() {
  local run port=$((LAB_PORT + 1)) out tmp
  out=$(base_img); tmp=$out.tmp
  ensure_vm
  for rel in $LAB_SUITES; do ensure_image_tar "$rel"; done
  run=$(mktemp -d "$LAB_CACHE/tmp.base.XXXX")
  # On failure (die exits): stop the build VM and drop the half-made disk.
  BUILD_RUN=$run BUILD_TMP=$tmp   # globals: the trap may run outside this function's scope
  trap 'vm_pid_alive "$BUILD_RUN" && kill "$(cat "$BUILD_RUN/qemu.pid")"; rm -rf "$BUILD_RUN" "$BUILD_TMP"' EXIT
  cp --sparse=always "$(vm_dir)/root.img" "$tmp"
  stage base-boot boot_vm "$run" "$tmp" raw writeback "$port"
  stage base-wait-api wait_api "$run" "$port"
  DOCKER_HOST=tcp://127.0.0.1:$port ensure_images
  stage base-poweroff poweroff_vm "$run"
  trap - EXIT
  mv "$tmp" "$out"; rm -rf "$run"
}

ensure_built() { [ -f "$(base_img)" ] || stage base build_base; }

cmd_build() {
  ensure_host_tools
  mkdir -p "$LAB_CACHE"
  local t0=$SECONDS
  with_lock "$LAB_CACHE/build.lock" ensure_built
  log "build complete in $((SECONDS - t0))s: $(base_img)"
}

# ---- mode selection ----------------------------------------------------------------------------
local_ipvs() { [ -e /proc/net/ip_vs ] || modprobe -q ip_vs 2>/dev/null; }
local_docker() { # a local engine, not our own VM's forward
  [ "${DOCKER_HOST:-}" != "tcp://127.0.0.1:$LAB_PORT" ] || unset DOCKER_HOST
  timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}
mode() {
  case ${LVS_LAB_MODE:-auto} in
    vm|local) echo "$LVS_LAB_MODE" ;;
    auto) if local_ipvs && (local_docker); then echo local; else echo vm; fi ;;
    *) die "LVS_LAB_MODE must be auto, vm or local" ;;
  esac
}

write_env() { mkdir -p "$LAB_RUN"; printf '%s\n' "$@" >"$ENV_FILE"; cat "$ENV_FILE"; }

vm_up() {
  if vm_pid_alive "$VMRUN" && api_ok "$LAB_PORT"; then write_env "$(docker_env)"; return; fi
  vm_pid_alive "$VMRUN" && vm_down
  with_lock "$LAB_CACHE/build.lock" ensure_built
  local t0=$SECONDS
  rm -rf "$VMRUN"; mkdir -p "$VMRUN"
  # Throwaway overlay: every `up` starts from the clean cached base.
  qemu-img create -q -f qcow2 -b "$(base_img)" -F raw "$VMRUN/overlay.qcow2"
  boot_vm "$VMRUN" "$VMRUN/overlay.qcow2" qcow2 unsafe "$LAB_PORT"
  wait_api "$VMRUN" "$LAB_PORT"
  log "VM up in $((SECONDS - t0))s (console: $VMRUN/console.log)"
  write_env "$(docker_env)"
}

vm_down() {
  if vm_pid_alive "$VMRUN"; then
    local pid; pid=$(cat "$VMRUN/qemu.pid")
    kill "$pid"   # the overlay is thrown away, no clean shutdown needed
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    log "VM stopped"
  fi
  rm -rf "$VMRUN" "$ENV_FILE"
}

cmd_up() {
  ensure_host_tools
  mkdir -p "$LAB_CACHE" "$LAB_RUN"
  if [ "$(mode)" = local ]; then
    log "local kernel has IP_VS and a Docker engine answers: using it"
    with_lock "$LAB_CACHE/build.lock" ensure_images
    write_env "export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}"
  else
    vm_up
  fi
}

cmd_status() {
  if vm_pid_alive "$VMRUN"; then
    echo "vm: running, pid $(cat "$VMRUN/qemu.pid"), port $LAB_PORT, API $(api_ok "$LAB_PORT" && echo up || echo down)"
    lab_docker images --format '  {{.Repository}}:{{.Tag}} {{.Size}}' 'lvs-lab/*' 2>/dev/null || true
  else
    echo "vm: not running"
  fi
  echo "mode (auto): $(mode)"
  [ -f "$ENV_FILE" ] && cat "$ENV_FILE"
  echo "cache: $LAB_CACHE ($(du -sh "$LAB_CACHE" 2>/dev/null | cut -f1)), base $( [ -f "$(base_img)" ] && echo ready || echo 'not built')"
}

cmd_images() {
  if [ "$(mode)" = local ]; then with_lock "$LAB_CACHE/build.lock" ensure_images; else
    vm_pid_alive "$VMRUN" || die "lab not up: run lab/lab.sh up"
    DOCKER_HOST=tcp://127.0.0.1:$LAB_PORT ensure_images
  fi
}

case ${1:-} in
  up) with_lock "$LAB_RUN/lab.lock" cmd_up ;;
  down) with_lock "$LAB_RUN/lab.lock" vm_down ;;
  status) cmd_status ;;
  build) cmd_build ;;
  images) cmd_images ;;
  *) echo "usage: $0 up|down|status|build|images" >&2; exit 2 ;;
esac
