"""Triops: an offline learning and certification-prep platform for DevOps, MLOps and LLMOps."""

__version__ = "0.1.0"
