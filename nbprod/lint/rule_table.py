"""The built-in rules' codes and names, and which are on by default, known without importing
the rules.

A lint whose notebooks all come from the cache runs no rule, yet must check the selection
(an unknown code is an error) and tell ruff's codes from nbprod's. Importing the seven rule
modules for that (their patterns compiled, the analysis they build on) costs about 14 ms,
more than a tenth of such a run. ``tests/unit/lint/test_rule_table.py`` checks this table
against the rule classes, so it cannot drift from them. Third-party rules are not in it: when
a distribution on the path may declare ``PLUGIN_GROUP`` entry points, or the registry is
loaded already, the registry answers (``checker.extended_registry``).
"""

from __future__ import annotations

__all__ = ["BUILTIN", "PLUGIN_GROUP"]

#: The entry-point group third-party rules register under.
PLUGIN_GROUP = "nbprod.rules"

#: code -> (name, on by default), for every built-in rule.
BUILTIN: dict[str, tuple[str, bool]] = {
    "NB001": ("execution-out-of-order", True),
    "NB002": ("execution-count-skipped", False),
    "NB003": ("unexecuted-cell", True),
    "NB004": ("used-before-defined", True),
    "NB005": ("defined-by-deleted-cell", True),
    "NB006": ("global-redefined-after-function", True),
    "NB007": ("error-output", True),
    "NB008": ("empty-cell", False),
    "NB009": ("large-output", True),
    "NB010": ("large-cell", True),
    "NB011": ("large-notebook", True),
    "NB012": ("missing-title", False),
    "NB013": ("untitled-notebook", True),
    "NB014": ("python-2-notebook", True),
    "NB101": ("missing-parameters-cell", True),
    "NB102": ("multiple-parameters-cells", True),
    "NB103": ("parameter-used-before-cell", True),
    "NB104": ("non-literal-parameter", True),
    "NB105": ("untyped-parameter", True),
    "NB106": ("parameters-cell-not-first", True),
    "NB107": ("parameters-cell-has-code", True),
    "NB201": ("absolute-path", True),
    "NB202": ("home-directory-path", True),
    "NB203": ("install-in-notebook", True),
    "NB204": ("change-directory", True),
    "NB205": ("missing-data-file", True),
    "NB206": ("lfs-pointer-file", True),
    "NB207": ("undeclared-dependency", True),
    "NB208": ("missing-package", True),
    "NB301": ("magic-in-export-cell", True),
    "NB302": ("export-cell-side-effect", True),
    "NB303": ("function-reads-notebook-global", True),
    "NB304": ("export-uses-notebook-global", True),
    "NB305": ("interactive-input", True),
    "NB401": ("aws-credentials", True),
    "NB402": ("github-token", True),
    "NB403": ("api-token", True),
    "NB404": ("private-key", True),
    "NB405": ("password-in-url", True),
    "NB406": ("hardcoded-password", True),
    "NB407": ("json-web-token", True),
    "NB501": ("removed-sklearn-module", True),
    "NB502": ("removed-sklearn-name", True),
    "NB503": ("seaborn-style-name", True),
    "NB504": ("groupby-axis", True),
    "NB505": ("dataframe-append", True),
    "NB506": ("removed-pandas-attribute", True),
    "NB507": ("removed-pandas-method", True),
    "NB508": ("removed-keyword-argument", True),
    "NB509": ("removed-matplotlib-api", True),
    "NB510": ("removed-frequency-alias", True),
    "NB511": ("removed-rcparam", True),
    "NB512": ("removed-module", True),
    "NB513": ("text-column-reduction", True),
    "NB601": ("unseeded-python-random", True),
    "NB602": ("unseeded-numpy-random", True),
    "NB603": ("unseeded-torch", True),
    "NB604": ("missing-random-state", True),
    "NB605": ("fit-before-split", True),
    "NB606": ("evaluate-on-training-data", True),
}
