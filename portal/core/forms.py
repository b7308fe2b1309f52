"""The form renderer: Django's, with selects, radios and checkbox lists written in Python.

Django renders these through a template that includes a template per option, and the attributes of each
through a third: a filter bar with a team list of 50 costs more than the rest of its page (bench/README.md
§9). The same markup, byte for byte, written here (tests/portal/core/test_forms.py holds it to Django's
templates); a widget whose options use another template is left to the templates.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

SELECT, OPTION = "django/forms/widgets/select.html", "django/forms/widgets/select_option.html"
CHOICES = {  # a list of inputs, and the template of each of its options
    "django/forms/widgets/radio.html": "django/forms/widgets/radio_option.html",
    "django/forms/widgets/checkbox_select.html": "django/forms/widgets/checkbox_option.html",
}


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


def _input(option: dict) -> str:
    """django/forms/widgets/input_option.html inside radio_option.html or checkbox_option.html: each of the
    three templates ends with a newline, and Django's markup keeps them."""
    value = "" if option["value"] is None else f' value="{conditional_escape(str(option["value"]))}"'
    kind, name = conditional_escape(option["type"]), conditional_escape(option["name"])
    field = f'<input type="{kind}" name="{name}"{value}{_attrs(option["attrs"])}>\n'
    if option["wrap_label"]:
        id_ = option["attrs"].get("id")
        label_for = f' for="{conditional_escape(id_)}"' if id_ else ""
        field = f"<label{label_for}>{field} {conditional_escape(option['label'])}</label>"
    return field + "\n\n"


def _choices(widget: dict) -> str:
    """django/forms/widgets/multiple_input.html."""
    id_, css = widget["attrs"].get("id"), widget["attrs"].get("class")
    parts = [
        "<div",
        f' id="{conditional_escape(id_)}"' if id_ else "",
        f' class="{conditional_escape(css)}"' if css else "",
        ">",
    ]
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f"\n  <div><label>{conditional_escape(group_name)}</label>")
        parts.extend(f"<div>\n    {_input(option)}</div>" for option in options)
        if group_name:
            parts.append("\n  </div>")
    parts.append("\n</div>")
    return "".join(parts)


class FormRenderer(DjangoTemplates):
    """settings.FORM_RENDERER."""

    def render(self, template_name, context, request=None):
        if template_name == SELECT:
            write, option_template = _select, OPTION
        elif template_name in CHOICES:
            write, option_template = _choices, CHOICES[template_name]
        else:
            return super().render(template_name, context, request)
        widget = context.get("widget")
        if widget is None or any(o["template_name"] != option_template for _, g, _ in widget["optgroups"] for o in g):
            return super().render(template_name, context, request)
        return mark_safe(write(widget))  # noqa: S308 - every value written is escaped
