"""The spec's `modbus` section as a running service: a slave serving zones from tags and a
master polling remote devices. pymodbus is imported only when the service starts, so
`reconcile validate` and `plan` never load it."""
