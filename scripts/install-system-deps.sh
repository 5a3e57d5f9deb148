#!/usr/bin/env bash
# Controller-side system packages the checks need (the lab installs its own in lab/lab.sh).
# Installs only what is missing, so a prepared machine costs nothing.
set -euo pipefail
need=()
command -v shellcheck >/dev/null || need+=(shellcheck)   # ansible-test sanity's shellcheck test
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v git >/dev/null || need+=(git)
[ -x /usr/sbin/arptables-legacy ] || need+=(arptables)   # tests/unit/scripts: lvs-netstate's arp-hide
command -v nft >/dev/null || need+=(nftables)           # tests/unit/scripts: lvs-netstate's arp-nft
[ -x /usr/sbin/bird ] || need+=(bird2)                   # tests/unit: bird -p reads what the BGP template writes
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing system packages: ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
# Only its parser is used here: the daemon the package starts is not wanted on this machine.
case " ${need[*]} " in *" bird2 "*) $sudo systemctl disable --now bird.service >/dev/null 2>&1 || true ;; esac
