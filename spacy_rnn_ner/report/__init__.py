"""Evaluation report (``report`` command) and system comparison (``compare`` command).

The modules only depend on spaCy and matplotlib, not on the rest of the package.
"""
