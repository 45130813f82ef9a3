"""The simulated device, kept in the state directory: the default backend."""
