"""Root conftest: every test directory shares the real-infrastructure fixtures."""

pytest_plugins = ["folio_devstack.pytest_plugin"]
