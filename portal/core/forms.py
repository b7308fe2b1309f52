"""The form renderer: Django's, with the `<select>` written in Python.

Django renders a select through a template that includes a template per `<option>`, and the attributes of
each through a third: a filter bar with a team list of 50 costs more than the rest of its page's table
(bench/README.md §9). The same markup, byte for byte, written here (tests/portal/core/test_forms.py holds it
to Django's templates); a select whose options use another template is left to them.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

SELECT = frozenset({"django/forms/widgets/select.html"})
OPTION = "django/forms/widgets/select_option.html"


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: `False` leaves the attribute out, `True` writes its bare name."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {name}" if value is True else f' {name}="{conditional_escape(str(value))}"')
    return "".join(out)


def _select(widget: dict) -> str:
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in options:
            value = conditional_escape(str(option["value"]))
            label = conditional_escape(option["label"])
            # The option template ends with a newline, so Django's markup has one after each option.
            parts.append(f'\n  <option value="{value}"{_attrs(option["attrs"])}>{label}</option>\n')
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class FormRenderer(DjangoTemplates):
    """settings.FORM_RENDERER."""

    def render(self, template_name, context, request=None):
        widget = context.get("widget") if template_name in SELECT else None
        if widget is None or any(o["template_name"] != OPTION for _, group, _ in widget["optgroups"] for o in group):
            return super().render(template_name, context, request)
        return mark_safe(_select(widget))  # noqa: S308 - every value above is escaped
