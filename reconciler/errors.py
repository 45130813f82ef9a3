"""Runtime errors that reach the user as one sentence (never a traceback).

Drivers raise the typed device errors below, so the engine and the services decide what a
failure means (a Modbus exception code, a retry, a stop) from its type, never by parsing
the message text."""


class OperationError(RuntimeError):
    """A runtime problem explained in one sentence."""


class DeviceError(OperationError):
    """The device could not apply or report a change (the base of the typed errors)."""


class DeviceRefused(DeviceError):
    """The device rejected the change as invalid (the reference APIs' 400/404/422 cases):
    retrying the same change cannot help."""


class DeviceFailed(DeviceError):
    """The device accepted the request but failed to carry it out (a 5xx, a tool's error)."""


class DeviceUnavailable(DeviceError):
    """The device, or this area of it, cannot be reached or does not exist on this backend."""


class DeviceDeferred(DeviceError):
    """The device cannot take the change now but will later (an application holds the
    update lock): not a failure of the change; a later pass applies it."""
