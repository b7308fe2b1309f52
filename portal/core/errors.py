"""Domain errors raised by services; views and the API turn them into messages a person can act on."""

from __future__ import annotations


class ApplicationError(Exception):
    """A refusal that is the user's to fix. ``field`` names the form/API field it belongs to, if any."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, list[str]]:
        return {self.field or "detail": [self.message]}


class Conflict(ApplicationError):
    """A refusal because of the state things are in, not the input: a second decision, a closed request, a
    second open request. The API answers 409."""
