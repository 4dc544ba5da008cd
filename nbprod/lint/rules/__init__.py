"""The built-in rule table (``BUILTIN_RULES``) and the rule registry third parties extend.

Codes are ``NB`` + 3 digits, one family per block of 100, one module per family.
Third-party rules register under the ``nbprod.rules`` entry-point group with their own prefix.
"""

from __future__ import annotations

from ...registry import Registry
from ..rule import Rule
from ..rule_table import PLUGIN_GROUP
from . import drift, hygiene, ml, parameters, portability, production, secrets

__all__ = ["BUILTIN_RULES", "rule_registry"]

#: Every built-in rule class, in code order.
BUILTIN_RULES: tuple[type[Rule], ...] = tuple(
    sorted(
        (
            *hygiene.RULES,
            *parameters.RULES,
            *portability.RULES,
            *production.RULES,
            *secrets.RULES,
            *drift.RULES,
            *ml.RULES,
        ),
        key=lambda rule: rule.code,
    )
)

rule_registry: Registry[type[Rule]] = Registry(
    "lint rule", PLUGIN_GROUP, key_pattern=r"[A-Z]{1,4}[0-9]{3}"
)
for _rule in BUILTIN_RULES:
    rule_registry.register(_rule.code, _rule, aliases=(_rule.name,))
