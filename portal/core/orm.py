"""A faster ``Col.identity`` for Django's query compiler, the same value computed without ``inspect``.

Every ordered query hashes each selected column (``SQLCompiler._order_by_pairs``), and a column's hash is its
``identity``: Django builds it by binding the constructor's arguments to ``inspect.signature`` for each new
``Col``. ``Col``'s constructor is ``(alias, target, output_field=None)``, so the same tuple can be written
out directly, which saves about 3 % of an API list's CPU (bench/README.md §9). Anything else (a subclass,
keyword arguments) keeps Django's own computation; ``tests/portal/core/test_orm.py`` holds the two equal for
every column of every model. Installed once, from ``PortalConfig.ready``.
"""

from __future__ import annotations

from django.db.models.expressions import Col, Expression
from django.utils.functional import cached_property

_DJANGO_IDENTITY = Expression.__dict__["identity"].func


def _col_identity(self: Col) -> tuple:
    args, kwargs = self._constructor_args
    if type(self) is not Col or kwargs or not 2 <= len(args) <= 3:
        return _DJANGO_IDENTITY(self)
    output_field = args[2] if len(args) == 3 else None
    return (
        Col,
        ("alias", self._identity(args[0])),
        ("target", self._identity(args[1])),
        ("output_field", self._identity(output_field)),
    )


def install() -> None:
    if isinstance(Col.__dict__.get("identity"), cached_property):
        return
    identity = cached_property(_col_identity)
    identity.__set_name__(Col, "identity")
    Col.identity = identity


def django_identity(col: Col) -> tuple:
    """Django's own computation, for the test that holds the two equal."""
    return _DJANGO_IDENTITY(col)
