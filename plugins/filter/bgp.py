# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter that derives a director's BIRD configuration (lvs_director_ha: bgp) from the data model
(plugin_utils/bgp.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.plugin_utils.bgp import bgp_config as _bgp_config
from ansible_collections.lvs.cluster.plugins.plugin_utils.model import ModelError


def bgp_config(services, hostname, settings, facts=None):
    try:
        return _bgp_config(services, hostname, settings, facts)
    except ModelError as exc:
        raise AnsibleFilterError('invalid BGP settings (lvs_director_ha: bgp):\n' + str(exc)) from None


class FilterModule:
    def filters(self):
        return {'bgp_config': bgp_config}
