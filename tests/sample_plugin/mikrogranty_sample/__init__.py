"""A sample regulation variant for Mikrogranty, written as a third-party plugin.

It is the worked example of docs/plugins.md and is exercised by tests/test_plugins.py.
"""
