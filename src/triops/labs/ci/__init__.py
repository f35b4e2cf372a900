"""A local, offline runner for a subset of GitHub Actions workflows, one module per concern:

triggers     which events start a workflow (`on:` and its filters)
expressions  `${{ }}` and `if:`: parser, evaluator, functions, context checks
matrix       strategy.matrix cells and runs-on labels
model        the workflow model and its loader (errors at file:line)
report       the run report and the events that stream a run
envfiles     GITHUB_ENV/OUTPUT files and setup-python's version specs
steps        the StepRunner protocol and LocalRunner
cell         one running job cell and the paths in its work folder
actions      the built-in actions (checkout, setup-python, artifacts, local composite)
engine       run_workflow: jobs, cells and steps in order
"""
