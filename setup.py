"""Kept so that ``python setup.py ...`` and old tooling keep working.

All metadata lives in pyproject.toml.
"""
from setuptools import setup

setup()
