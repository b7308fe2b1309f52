"""The form renderer writes a `<select>` as Django's templates would, byte for byte, and leaves every other
widget to them."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from portal.core.forms import FormRenderer
from portal.core.models import Team


class _Picky(forms.Select):
    option_template_name = "django/forms/widgets/radio_option.html"  # a select with its own option template


def _form(renderer):
    class Everything(forms.Form):
        plain = forms.ChoiceField(choices=[("", "---------"), ("a", "A"), ("b", "B & <b>")])
        grouped = forms.ChoiceField(
            required=False,
            choices=[("", "any"), ("Group <1>", [(1, "one"), (2, mark_safe("<em>two</em>"))]), ("x", "X")],
        )
        many = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B"), ("c", '"C"')])
        flagged = forms.ChoiceField(
            choices=[("a", "A")],
            widget=forms.Select(attrs={"disabled": True, "data-off": False, "data-note": 'say "hi" & go'}),
        )
        team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False)
        maybe = forms.NullBooleanField(required=False)
        radio = forms.ChoiceField(choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect)
        radios = forms.ChoiceField(
            choices=[("a", "A & a"), ("Group <2>", [("b", mark_safe("<i>B</i>"))])],
            widget=forms.RadioSelect(attrs={"class": 'lean "x"'}),
        )
        ticks = forms.MultipleChoiceField(
            choices=[("a", "A"), ("b", "B"), ("c", "C")], widget=forms.CheckboxSelectMultiple
        )
        teams = forms.ModelMultipleChoiceField(
            queryset=Team.objects.order_by("name"),
            to_field_name="slug",
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        picky = forms.ChoiceField(choices=[("a", "A")], widget=_Picky)

    return Everything(
        {
            "plain": "b",
            "grouped": "2",
            "many": ["a", "c"],
            "team": "",
            "maybe": "true",
            "radio": "a",
            "radios": "b",
            "ticks": ["a", "c"],
            "teams": ["risk"],
        },
        renderer=renderer,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field", ["plain", "grouped", "many", "flagged", "team", "maybe", "radio", "radios", "ticks", "teams", "picky"]
)
def test_each_widget_renders_as_djangos_templates_render_it(field):
    Team.objects.create(name='R&D "core"', slug="rd")
    Team.objects.create(name="Risk", slug="risk")
    ours, django = _form(FormRenderer())[field].as_widget(), _form(DjangoTemplates())[field].as_widget()
    assert ours == django
    assert "<option" in ours or "<input" in ours  # something was rendered to compare


@pytest.mark.django_db
def test_selects_and_lists_of_inputs_are_written_without_a_template():
    renderer = FormRenderer()
    renderer.get_template = None  # any template lookup would fail
    form = _form(renderer)
    html = form["grouped"].as_widget()
    assert '<optgroup label="Group &lt;1&gt;">' in html and '<option value="2" selected><em>two</em></option>' in html
    html = form["radios"].as_widget()
    assert '<div id="id_radios" class="lean &quot;x&quot;">' in html and "checked>\n <i>B</i></label>" in html


def test_the_setting_names_it(settings):
    assert settings.FORM_RENDERER == "portal.core.forms.FormRenderer"
