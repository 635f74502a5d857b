"""Fixtures of the monitoring tests (the watched run lives in monitoring_testbed.py)."""

from monitoring_testbed import watched_run

__all__ = ["watched_run"]
