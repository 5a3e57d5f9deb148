# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cluster_status: the table of playbooks/status.yml; the logic lives in plugin_utils/status.py."""

from __future__ import annotations

from ansible_collections.lvs.cluster.plugins.plugin_utils.status import cluster_status as _cluster_status
from ansible_collections.lvs.cluster.plugins.plugin_utils.status import read_hosts


def cluster_status(services, hostvars, groups, drained_dir):
    directors, real_servers, unread = read_hosts(hostvars, groups, drained_dir)
    return _cluster_status(services, directors, real_servers, unread)


class FilterModule:
    def filters(self):
        return {'cluster_status': cluster_status}
