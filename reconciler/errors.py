"""Runtime errors that reach the user as one sentence (never a traceback)."""


class OperationError(RuntimeError):
    """A runtime problem explained in one sentence."""


class DeviceError(OperationError):
    """The device refused a change (the reference APIs' 400/404/422 cases)."""
