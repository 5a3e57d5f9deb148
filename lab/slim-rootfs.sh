# shellcheck shell=bash
# Sourced by the build scripts; part of the artifacts' cache keys.
# Drop docs (copyright notices stay), man pages, locales and apt lists from a rootfs.
slim_rootfs() {
  local r=$1
  find "$r/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$r"/usr/share/{man,info,groff,lintian,linda}/* "$r"/usr/share/locale/* \
         "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
         "$r"/var/cache/debconf/*-old "$r"/var/log/*.log "$r"/var/log/apt/* 2>/dev/null || true
  # keep later apt installs just as small
  mkdir -p "$r/etc/dpkg/dpkg.cfg.d"
  cat >"$r/etc/dpkg/dpkg.cfg.d/01-lab-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
}
