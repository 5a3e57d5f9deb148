# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for ansible-test's get-pip bootstrap script, whose download host is not reachable here.

ansible-test runs it inside a fresh venv with pip install arguments (e.g. `pip==24.2`): bootstrap pip from
the standard library's ensurepip, then let that pip install what was asked from the package index.
"""
import ensurepip
import os
import subprocess
import sys

# ensurepip rewrites os.environ (drops PIP_*, points PIP_CONFIG_FILE at /dev/null): keep the caller's.
environ = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade"] + args, env=environ))
