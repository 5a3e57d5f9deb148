# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the roles' settings checkers share (keepalived.py, bgp.py): every problem collected once, as
"variable: message", with the rules of the shared core (module_utils/lvs_validate.py)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.lvs.cluster.plugins.module_utils import lvs_validate as check
from ansible_collections.lvs.cluster.plugins.module_utils.lvs_validate import Invalid, describe


class SettingsChecker:
    def __init__(self, settings, defaults, prefix):
        """settings: the role's variables without their prefix (prefix_*), over defaults."""
        self.settings = dict(defaults)
        self.errors = []
        if isinstance(settings, Mapping):
            self.settings.update(settings)
        elif settings is not None:
            self.err('%s settings' % prefix, 'must be a mapping of %s_* settings, got %s' % (prefix, describe(settings)))

    def err(self, path, message):
        problem = '%s: %s' % (path, message)
        if problem not in self.errors:  # a setting read twice is reported once
            self.errors.append(problem)

    def checked(self, var, check_value, *args, **kwargs):
        """check_value(*args, **kwargs) from lvs_validate, or None with its problem recorded for var."""
        try:
            return check_value(*args, **kwargs)
        except Invalid as exc:
            self.err(var, str(exc))
            return None

    def integer(self, var, value, low, high):
        return self.checked(var, check.integer, value, low, high)

    def boolean(self, var, value):
        return bool(self.checked(var, check.boolean, value))
