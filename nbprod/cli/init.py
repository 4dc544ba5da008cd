"""``nbprod init``: set a project up for nbprod (config, CI workflow, pre-commit, a notebook)."""

from __future__ import annotations

import json
from pathlib import Path

import click

_VERBS = {"create": "created", "append": "updated", "replace": "replaced", "unchanged": "unchanged"}


@click.command("init")
@click.argument("directory", required=False, default=".", type=click.Path(path_type=Path))
@click.option(
    "--force", is_flag=True, help="Replace existing files and an existing [tool.nbprod] section."
)
@click.option("--ci", type=click.Choice(["github", "gitlab"]), default="github",
              show_default=True,
              help="The CI service: a GitHub Actions workflow, or GitLab CI jobs.")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: each file with the action taken, for scripts.")
def init_command(directory: Path, force: bool, ci: str, output_format: str) -> int:
    """Add nbprod to a project: [tool.nbprod], CI jobs, pre-commit, a notebook.

    Writes [tool.nbprod] in pyproject.toml, a GitHub Actions workflow (or, with --ci
    gitlab, GitLab CI jobs in .gitlab/nbprod-ci.yml, included from .gitlab-ci.yml), a
    pre-commit hook, .gitignore entries and a tagged starter notebook.

    Existing files are never overwritten without --force; pyproject.toml and .gitignore are
    extended, not replaced. Running it again changes nothing.

    Exit codes: 0 done (or already set up), 2 a file exists with other content (names it),
    pyproject.toml is not valid TOML, or DIRECTORY is inside another nbprod project or git
    work tree (run init at its top).
    """
    from ..scaffold import (
        CI_FILES,
        GITLAB_INCLUDE,
        missing_gitlab_include,
        plan_init,
        write_init,
    )

    notebooks = _project_notebooks(directory)
    planned = plan_init(directory, force=force, ci=ci, has_notebooks=bool(notebooks))
    changed = write_init(directory, planned)
    if missing_gitlab_include(planned):
        click.echo(f"note: {directory / '.gitlab-ci.yml'} is the project's own and was left as"
                   f" it is; add to it:\n{GITLAB_INCLUDE.rstrip()}\nso that GitLab runs the"
                   f" jobs in {CI_FILES['gitlab'][0]}", err=True)
    if output_format == "json":
        click.echo(json.dumps({
            "changed": bool(changed),
            "files": [{"path": str(item.path), "action": _VERBS[item.action]}
                      for item in planned]}, indent=2))
        return 0
    for item in planned:
        click.echo(f"{_VERBS[item.action]:10s} {item.path}")
    if not changed:
        click.echo("Already set up; nothing to change.")
        return 0
    where = "" if directory == Path(".") else f"cd {directory} && "
    if notebooks:
        count = f"{len(notebooks)} notebook{'s' if len(notebooks) != 1 else ''}"
        click.echo(
            f"\nThe CI jobs check the project's {count}, wherever they are. Next steps:\n"
            f"  {where}nbprod lint                       # what breaks when someone reruns them\n"
            "  python -m pytest --nbprod         # runs every notebook top to bottom, as CI"
            " will\n"
            "  nbprod tag --suggest NOTEBOOK     # the cells to export, test or run as steps\n"
            "  pre-commit install                # lint notebooks on every commit"
        )
        return 0
    click.echo(
        "\nNext steps:\n"
        f"  {where}nbprod lint notebooks\n"
        "  nbprod export notebooks/analysis.ipynb   # writes the module and its tests\n"
        "  python -m pytest --nbprod notebooks      # runs the notebook as CI will\n"
        "  pre-commit install                       # lint notebooks on every commit"
    )
    return 0


def _project_notebooks(directory: Path) -> list[str]:
    """The notebooks the project already has, as ``nbprod lint`` finds them (no hidden or
    environment folders, nothing git ignores), relative to it; the starter notebook of an
    earlier ``init`` is not one of them."""
    from ..lint import collect_notebooks
    from ..scaffold import STARTER_NOTEBOOK

    if not directory.is_dir():
        return []
    found = (path.relative_to(directory).as_posix()
             for path in collect_notebooks([directory], root=directory, gitignore=True))
    return [name for name in found if name != STARTER_NOTEBOOK]
