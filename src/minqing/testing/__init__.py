"""Test support shared by the apps' tests: pytest plugins and fixtures (importable, so not in conftest)."""
