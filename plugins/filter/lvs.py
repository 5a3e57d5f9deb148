# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the cluster data model; the logic lives in plugin_utils/model.py (docs/data-model.md)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.plugin_utils.model import (
    ModelError,
    normalise_services,
    services_served_by,
    to_ipvs_services,
)


def _wrap(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except ModelError as exc:
        # One line per problem, so every mistake can be fixed in one pass.
        raise AnsibleFilterError('invalid LVS cluster data model:\n' + str(exc)) from None


def virtual_services(services, hostvars, groups, var_name='lvs_virtual_services'):
    return _wrap(normalise_services, services, hostvars, groups, var_name=var_name)


def served_by(services, inventory_hostname):
    return _wrap(services_served_by, services, inventory_hostname)


def ipvs_services(services):
    return _wrap(to_ipvs_services, services)


class FilterModule:
    def filters(self):
        return {
            'virtual_services': virtual_services,
            'served_by': served_by,
            'ipvs_services': ipvs_services,
        }
