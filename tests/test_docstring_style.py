"""One docstring style in src/latentscm: numpydoc (``Parameters`` / ``Returns`` / ``Raises``
sections underlined with dashes), not Google style (``Args:``, ``Returns:`` ...).

Module, class and function docstrings are read from the source with ``ast``; nothing is imported.
"""

import ast
import functools
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "latentscm"

#: A Google-style section header alone on its line.
GOOGLE_SECTION = re.compile(r"^\s*(Args|Arguments|Keyword Args|Keyword Arguments|Returns|Yields|Raises):\s*$",
                            re.MULTILINE)

#: Files (relative to src/latentscm) still in Google style because others were editing them when
#: the rest was converted. This list may only shrink: convert a file, then remove it here.
ALLOWED: set[str] = set()


@functools.cache
def google_sections() -> dict[str, list[str]]:
    """``{relative path: ["name:line Header:", ...]}`` for every docstring with a Google section."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            docstring = ast.get_docstring(node, clean=False)
            if not docstring:
                continue
            where = getattr(node, "name", "<module>")
            for match in GOOGLE_SECTION.finditer(docstring):
                found.setdefault(path.relative_to(PACKAGE).as_posix(), []).append(
                    f"{where} (line {getattr(node, 'lineno', 1)}): {match.group(1)}:")
    return found


def test_the_check_sees_a_google_section():
    assert GOOGLE_SECTION.search('"""Sum.\n\n    Args:\n        x: a number.\n"""')
    assert not GOOGLE_SECTION.search('"""Sum.\n\n    Parameters\n    ----------\n    x : float\n"""')


def test_docstrings_use_numpydoc_sections():
    found = google_sections()
    new = {path: where for path, where in found.items() if path not in ALLOWED}
    assert not new, ("Google-style docstring sections (use numpydoc: Parameters / Returns / Raises "
                     "underlined with dashes):\n" + "\n".join(f"{p}: {', '.join(w)}" for p, w in new.items()))


def test_the_allow_list_only_shrinks():
    stale = sorted(path for path in ALLOWED if path not in google_sections())
    assert not stale, f"no Google-style sections left in {stale}: remove them from ALLOWED"
