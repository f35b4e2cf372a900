"""The churn model's monitoring and retraining pipeline (the lab's code: read it, do not edit it).

Run by .github/workflows/pipeline.yml: `python -m pipeline.run bootstrap`, then
`python -m pipeline.run weeks`. Your part is policy.py and gate.py at the top of the folder."""
