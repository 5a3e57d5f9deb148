# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the data model (model.py) and the roles' settings checkers (keepalived.py, bgp.py) collect problems: as
"path: message", with the rules of the shared core (module_utils/lvs_validate.py); settings each once."""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.lvs.cluster.plugins.module_utils import lvs_validate as check
from ansible_collections.lvs.cluster.plugins.module_utils.lvs_validate import Invalid, describe


class Problems:
    """Every problem found, as "path: message" in .errors; checks from the shared core recorded at their path.
    Used by the data model (model.py) and by the settings checkers below."""

    def __init__(self):
        self.errors = []

    def err(self, path, message):
        self.errors.append('%s: %s' % (path, message))

    def checked(self, path, check_value, *args, **kwargs):
        """check_value(*args, **kwargs) from lvs_validate, or None with its problem recorded at path."""
        try:
            return check_value(*args, **kwargs)
        except Invalid as exc:
            self.err(path, str(exc))
            return None

    def integer(self, path, value, low, high):
        return self.checked(path, check.integer, value, low, high)


class SettingsChecker(Problems):
    def __init__(self, settings, defaults, prefix):
        """settings: the role's variables without their prefix (prefix_*), over defaults."""
        super().__init__()
        self.settings = dict(defaults)
        if isinstance(settings, Mapping):
            self.settings.update(settings)
        elif settings is not None:
            self.err('%s settings' % prefix, 'must be a mapping of %s_* settings, got %s' % (prefix, describe(settings)))

    def err(self, path, message):
        problem = '%s: %s' % (path, message)
        if problem not in self.errors:  # a setting read twice is reported once
            self.errors.append(problem)

    def boolean(self, var, value):
        return bool(self.checked(var, check.boolean, value))
