"""Attack class 7 (SECURITY.md): the operator's eval command.

`triops eval run` runs a config with the rights of whoever starts it and reads any file:// path
it names: that is right for an operator's own configs and wrong for a learner's. So it says so
(README, --help), and the lab and the page never use it on learners' configs: they run them
through triops.labs.eval_lab, a limited child that confines file:// to the work folder and allows
only the offline providers."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from attacklib import require_sandbox

from conftest import REPO
from triops.labs import runs
from triops.labs.sandbox import Sandbox
from triops.labs.spec import load_labs


def test_eval_run_help_and_readme_say_it_runs_with_your_own_rights():
    done = subprocess.run(
        [sys.executable, "-m", "triops.cli", "eval", "run", "--help"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert "runs with your own rights" in " ".join(done.stdout.split())
    readme = " ".join((REPO / "README.md").read_text().split())
    assert "`triops eval run` runs a config with your own rights" in readme


def _load_config_calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "load_config"
    ]


def test_lab_and_page_code_load_eval_configs_only_confined():
    """Every load_config call outside the operator's CLI passes root= and providers=, and no lab
    or page module imports the operator's command."""
    places = [
        *sorted((REPO / "src" / "triops" / "labs").glob("*.py")),
        *sorted((REPO / "src" / "triops" / "ui").glob("*.py")),
        *sorted((REPO / "app_pages").glob("*.py")),
        *sorted((REPO / "labs").glob("*/check.py")),
    ]
    calls = 0
    for path in places:
        text = path.read_text()
        assert "triops.evals.cli" not in text and "evals import cli" not in text, path
        for call in _load_config_calls(path):
            calls += 1
            keywords = {k.arg for k in call.keywords}
            assert {"root", "providers"} <= keywords, f"{path}:{call.lineno}"
    assert calls >= 2  # the lab child and the prompt-eval check load configs, confined


def test_a_learner_config_that_reaches_out_is_refused_in_the_lab(tmp_path):
    require_sandbox()
    lab = load_labs(REPO).get("prompt-eval")
    files = tmp_path / "files"
    runs.solve(lab, files)
    (files / "promptfooconfig.yaml").write_text(
        "prompts:\n"
        "  - file:///etc/passwd\n"
        "  - file://../../../../etc/hostname\n"
        "providers:\n"
        "  - id: openai-compatible\n"
        "    config: {base_url: 'http://127.0.0.1:9/v1', model: x}\n"
        "tests:\n"
        "  - vars: {question: hi}\n"
    )
    box = Sandbox(root=Path("/tmp") / f"triops-attack-eval-{tmp_path.name}")
    try:
        run = runs.execute(lab, files, sandbox=box, labs_venv=REPO)
    finally:
        box.close()
        shutil.rmtree(box.root, ignore_errors=True)
    shutil.rmtree(run.artifacts, ignore_errors=True)
    assert run.status == "failure"
    assert run.report["outcome"] == "config-error"
    assert "root:x:0:0" not in run.log
    problems = " ".join(str(p) for p in run.report.get("problems", []))
    assert "absolute path" in problems and "'..' is not allowed" in problems
    assert "openai-compatible" in problems
