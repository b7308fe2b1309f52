"""The state table: (stage, action) → transition. Plain data, read by the services, the pages' buttons,
the API and the tests (docs/architecture.md, "The release workflow"). Who may *approve* comes from the
Policy rows; this table says who may *ask* and what must hold before anyone can."""

from __future__ import annotations

from dataclasses import dataclass

from approvals.choices import Action
from portal.core.roles import Role
from registry.choices import Stage

# A request should be decided within this many working days (portal.core.calendar): the queue flags older
# ones, and the debt index counts them as stuck.
SLA_WORKING_DAYS = 5


@dataclass(frozen=True)
class Transition:
    key: str  # the policy's transition key
    source: str
    action: str
    target: str
    requesters: tuple[str, ...]  # roles that may open the request (team rule applies to data scientists)
    owner_may_request: bool = False
    label: str = ""


TRANSITIONS: dict[tuple[str, str], Transition] = {
    (Stage.DESIGN, Action.PROMOTE): Transition(
        "design->test",
        Stage.DESIGN,
        Action.PROMOTE,
        Stage.TEST,
        (Role.DATA_SCIENTIST,),
        label="Request promotion to test",
    ),
    (Stage.TEST, Action.PROMOTE): Transition(
        "test->production",
        Stage.TEST,
        Action.PROMOTE,
        Stage.PRODUCTION,
        (Role.DATA_SCIENTIST,),
        label="Request promotion to production",
    ),
    (Stage.PRODUCTION, Action.RETIRE): Transition(
        "production->retired",
        Stage.PRODUCTION,
        Action.RETIRE,
        Stage.RETIRED,
        (Role.IT_OPERATIONS,),
        owner_may_request=True,
        label="Request retirement",
    ),
    (Stage.RETIRED, Action.ROLLBACK): Transition(
        "rollback",
        Stage.RETIRED,
        Action.ROLLBACK,
        Stage.PRODUCTION,
        (Role.IT_OPERATIONS,),
        label="Request rollback to this version",
    ),
}


def transitions_from(stage: str) -> list[Transition]:
    return [t for (source, _), t in TRANSITIONS.items() if source == stage]


def transition_for(stage: str, action: str) -> Transition | None:
    return TRANSITIONS.get((stage, action))
