"""System use notification: the notice shown before login (gateway doc: PUT
/system/usenotification: enable, enableDefaultText, userText).

On linux it is the pre-authentication banner, /etc/issue.net shown by sshd's `Banner`:
a system use notification (NIST AC-8) must be seen before logging in, which /etc/motd
(shown after login) is not.
"""

from pydantic import Field

from reconciler.spec.base import SpecModel

DEFAULT_TEXT = (
    "WARNING: This system is for the use of authorized users only. Activity on it may be "
    "monitored and recorded; by logging in you consent to this.\n"
)
"""The text shown when enableDefaultText (the doc does not print the unit's own)."""


class BannerSpec(SpecModel):
    """System use notification. linux: /etc/issue.net shown by sshd's Banner before
    login (not /etc/motd, which is shown after it)."""

    enable: bool | None = None
    """Show the notification before login (device default true)."""
    enable_default_text: bool | None = None
    """Show the built-in text instead of userText (device default true)."""
    user_text: str | None = Field(default=None, max_length=1024)
    """Your own notification text, 0..1024 characters (shown when enableDefaultText is
    false)."""
