"""The linux backend: observe and change a real Debian/Ubuntu host.

Every file goes through a root prefix and every command through one runner, so the same
drivers run against this machine, a fake root in a temp dir, or a network namespace.
"""
