"""Check for the matrix-test-groups task: the matrix is judged by what its cells did, in the run
as it is and in two reruns that each break one group with a failing test of the check's own."""

BROKEN_UNIT = {"tests/unit/test_zz_probe.py": "def test_broken_on_purpose():\n    assert False\n"}
BROKEN_INTEGRATION = {
    "tests/integration/test_zz_probe.py": "def test_broken_on_purpose():\n    assert False\n"
}


def _cells(run):
    """group -> status of each cell of the test job."""
    for job in run.report.get("jobs") or []:
        if job.get("id") == "test":
            return {
                str((cell.get("matrix") or {}).get("group", "")): cell.get("status")
                for cell in job.get("cells") or []
            }
    return {}


def two_green_cells(ctx):
    cells = _cells(ctx.run())
    if set(cells) != {"unit", "integration"}:
        shown = ", ".join(sorted(g or "(no group)" for g in cells)) or "none"
        return False, f"the test job's cells are {shown}, not unit and integration"
    if any(status != "success" for status in cells.values()):
        return False, "not both cells are green: " + ", ".join(
            f"{g} {s}" for g, s in sorted(cells.items())
        )
    return True, "unit and integration cells both green"


def cells_run_their_own_group(ctx):
    cells = _cells(ctx.rerun(BROKEN_INTEGRATION))
    if cells.get("integration") == "failure" and cells.get("unit") == "success":
        return True, "only the integration cell failed"
    return False, "with the integration group broken, the cells ended " + (
        ", ".join(f"{g or '(no group)'} {s}" for g, s in sorted(cells.items())) or "missing"
    )


def no_cell_cancelled(ctx):
    cells = _cells(ctx.rerun(BROKEN_UNIT))
    if cells.get("unit") == "failure" and cells.get("integration") == "success":
        return True, "the unit cell failed and the integration cell still succeeded"
    return False, "with the unit group broken, the cells ended " + (
        ", ".join(f"{g or '(no group)'} {s}" for g, s in sorted(cells.items())) or "missing"
    )
