# Shim for tools that still call setup.py; the package is built by flit_core from pyproject.toml.
from setuptools import setup

setup()
