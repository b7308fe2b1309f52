"""A check's verdict with a message a person can act on, and the stop that ends a run early."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Check:
    name: str
    verdict: str  # pass | fail | warn | skip
    message: str
    details: dict[str, Any] = field(default_factory=dict)


class ValidationStopped(Exception):
    def __init__(self, message: str, checks: list[Check]):
        super().__init__(message)
        self.message = message
        self.checks = checks
