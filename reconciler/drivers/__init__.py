"""Backends: each observes the device and executes changes; they never decide."""
