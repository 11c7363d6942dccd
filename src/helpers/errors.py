"""The library's one error type for values a user chose (standard library only)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A profile or parameter value that is not allowed.

    The message names the parameter, the value given and what is allowed.
    """
