"""Jinja2 environments over a package's ``templates/`` folder (templates are files, not strings).

``.html`` templates are autoescaped; ``.txt`` templates (plain-text email) are not. A variable a
template names but the code did not pass is an error, never a silently empty string.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def environment(package: str) -> Environment:
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
