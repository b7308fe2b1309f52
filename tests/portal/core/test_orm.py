"""The faster Col.identity (portal.core.orm) equals Django's for every column Gatehouse's queries select."""

import pytest
from django.apps import apps
from django.db.models import CharField, F, IntegerField
from django.db.models.expressions import Col

from portal.core import orm
from registry.models import ModelVersion, RegisteredModel

COLUMNS = [(model, field) for model in apps.get_models() for field in model._meta.concrete_fields]


@pytest.mark.parametrize(("model", "field"), COLUMNS, ids=[f"{m._meta.label}.{f.name}" for m, f in COLUMNS])
def test_a_column_has_djangos_identity(model, field):
    for col in (Col("T1", field), Col(None, field), Col("T2", field, IntegerField()), Col("T3", field, field)):
        assert col.identity == orm.django_identity(col)
        assert hash(col) == hash(orm.django_identity(col))


def test_columns_that_differ_are_not_equal():
    name = RegisteredModel._meta.get_field("name")
    assert Col("T1", name) != Col("T2", name)
    assert Col("T1", name) != Col("T1", RegisteredModel._meta.get_field("description"))
    assert Col("T1", name) != Col("T1", name, CharField())
    assert len({Col("T1", name), Col("T1", name)}) == 1


def test_the_fast_path_is_installed_and_other_expressions_keep_djangos():
    assert Col.__dict__["identity"].func is orm._col_identity
    assert F("name").__class__ is not Col  # F has its own identity; nothing else is patched


@pytest.mark.django_db
def test_ordered_queries_over_joins_still_compile_and_order():
    sql = str(ModelVersion.objects.select_related("model", "created_by").order_by("model__name", "-number").query)
    assert 'ORDER BY "registry_registeredmodel"."name" ASC, "registry_modelversion"."number" DESC' in sql
