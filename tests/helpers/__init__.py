"""Helpers shared by the tests of several areas (fixtures stay in conftest.py files).

Tests import them as ``tests.helpers.<module>``; no test imports another test module.
"""
