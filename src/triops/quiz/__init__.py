"""Question banks, GIFT import and export, grading, and the timed exam engine."""
