"""The README's SCM example runs as written (the learner tour is exercised by the quickstart test)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_scm_example_runs(capsys):
    block = next(b for b in _python_blocks() if "smoking_cancer_model" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["counterfactual"]["light"].tolist() == [0.3] * 1000
    assert "P(cancer | do(smoking))" in capsys.readouterr().out


def test_readme_quick_start_has_exactly_two_commands():
    quick = README.read_text().split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in quick.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert [c.split("#")[0].strip() for c in commands] == ["make quickstart", "make test"]
