# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that derive the directors' keepalived configuration from the data model (plugin_utils/keepalived.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.plugin_utils.keepalived import (
    keepalived_config as _keepalived_config,
    vrrp_addresses as _vrrp_addresses,
)
from ansible_collections.lvs.cluster.plugins.plugin_utils.model import ModelError


def keepalived_config(services, hostname, directors, hostvars, settings, placement=None):
    try:
        return _keepalived_config(services, hostname, directors, hostvars, settings, placement)
    except ModelError as exc:
        raise AnsibleFilterError('invalid keepalived settings:\n' + str(exc)) from None


def vrrp_addresses(services):
    try:
        return _vrrp_addresses(services)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError('vrrp_addresses expects the output of lvs.cluster.virtual_services: %s' % exc) from None


class FilterModule:
    def filters(self):
        return {'keepalived_config': keepalived_config, 'vrrp_addresses': vrrp_addresses}
