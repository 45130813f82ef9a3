"""Desired-state models: one module per area, `DeviceSpec` (device.py) is the root document."""
