"""``{% mlflow_origin version %}``: where an imported version came from in MLflow, on the version's page (the
registry's view never imports this app; its template loads the tag)."""

from django import template

from imports.selectors import version_origin

register = template.Library()


@register.inclusion_tag("imports/_origin.html")
def mlflow_origin(version):
    return {"origin": version_origin(version)}
