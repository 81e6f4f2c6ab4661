"""Fixtures every test folder shares: the real forward proxy (``proxy_helpers``)."""

pytest_plugins = ("proxy_helpers",)
