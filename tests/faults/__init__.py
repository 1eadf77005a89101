"""Faults and bad input: damaged projects, crashes while saving, bad media and weights, render faults,
offline.

A package, so this folder's conftest is `faults.conftest` and does not shadow `tests/conftest.py`
(the other test modules import helpers from it as `conftest`).
"""
