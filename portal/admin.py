"""Django's admin discovers this module; the kernel's admin classes register themselves on import."""

from portal.core import admin  # noqa: F401
