# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the cluster data model; the logic lives in plugin_utils/model.py (docs/data-model.md)
and the rules in module_utils/lvs_validate.py."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils.lvs_validate import check_settings as _check_settings
from ansible_collections.lvs.cluster.plugins.module_utils.lvs_validate import describe
from ansible_collections.lvs.cluster.plugins.plugin_utils.model import (
    ModelError,
    host_address,
    host_addresses,
    normalise_services,
    services_served_by,
    to_ipvs_services,
    to_mark_rules,
)


def _fail(header, problems):
    # One line per problem, so every mistake can be fixed in one pass.
    raise AnsibleFilterError('%s:\n%s' % (header, '\n'.join(problems)))


def _wrap(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except ModelError as exc:
        _fail('invalid LVS cluster data model', exc.errors)


def virtual_services(services, hostvars, groups, var_name='lvs_virtual_services', settings=None):
    """Normalised services; with settings, the role's settings are checked too and reported with them."""
    setting_problems = _check_settings(settings) if settings is not None else []
    try:
        result = normalise_services(services, hostvars, groups, var_name=var_name)
    except ModelError as exc:
        _fail('invalid LVS cluster data model' + (' and role settings' if setting_problems else ''),
              exc.errors + setting_problems)
    if setting_problems:
        _fail('invalid role settings', setting_problems)
    return result


def check_settings(settings):
    problems = _check_settings(settings)
    if problems:
        _fail('invalid role settings', problems)
    return True


def served_by(services, inventory_hostname):
    return _wrap(services_served_by, services, inventory_hostname)


def ipvs_services(services):
    return _wrap(to_ipvs_services, services)


def mark_rules(services):
    return _wrap(to_mark_rules, services)


def real_server_address(host, hostvars, strict=True, family=None):
    """The canonical address the directors use for an inventory host, as the data model resolves it.
    strict=False: '' for a host that has none (e.g. a director known by name only) instead of an error.
    family: None or 'inet' (the default): its address (lvs_real_server_address, ansible_host or the inventory name),
    which IPv4 services use; 'inet6': its address in IPv6 services (lvs_real_server_address6 when set, else the
    same); 'all': the list of both, each once (every address a director's table may hold for it; strict=False: the
    ones that resolve, [] for none)."""
    if family not in (None, 'inet', 'inet6', 'all'):
        _fail('invalid argument', ['real_server_address: family must be one of inet, inet6, all, got %s'
                                   % describe(family)])
    if family == 'all':
        addresses, problems = host_addresses(hostvars, host)
        if problems and strict:
            _fail('invalid LVS cluster data model', ['%s: %s' % (host, problem) for problem in problems])
        return [addr.compressed for addr in addresses]
    addr, problem = host_address(hostvars, host, family)
    if addr is None:
        if not strict:
            return ''
        _fail('invalid LVS cluster data model', ['%s: %s' % (host, problem)])
    return addr.compressed


class FilterModule:
    def filters(self):
        return {
            'virtual_services': virtual_services,
            'check_settings': check_settings,
            'served_by': served_by,
            'ipvs_services': ipvs_services,
            'mark_rules': mark_rules,
            'real_server_address': real_server_address,
        }
