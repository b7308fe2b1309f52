from django import template

from fleet.devices import describe

register = template.Library()


@register.filter
def device_name(device: str) -> str:
    """ "h100" → "an H100", "gpu" → "any GPU", "cpu" → "the CPU"."""
    return describe(device) if device else "a card of no known class"


@register.filter
def percent_of(part, whole) -> int:
    """A bar's width: ``part`` as a whole percentage of ``whole`` (0 when either is unknown)."""
    try:
        return max(0, min(100, round(100 * float(part) / float(whole))))
    except (TypeError, ValueError, ZeroDivisionError):
        return 0
