"""The demo's people: the accounts `make run` creates (only with DEBUG on) and the login page lists."""

from portal.core.roles import Role

DEMO_PASSWORD = "gatehouse-demo"  # noqa: S105 - demo accounts only; refused unless DEBUG is on

# username, full name, role, teams
DEMO_USERS = [
    ("scientist", "Dana Scientist", Role.DATA_SCIENTIST, ["diagnostics", "customer-analytics"]),
    ("forecaster", "Farid Forecaster", Role.DATA_SCIENTIST, ["forecasting"]),
    ("itops", "Ivo Operations", Role.IT_OPERATIONS, []),
    # A second IT person: critical models need two IT approvals, and a rollback asked by one is approved by another.
    ("itops2", "Ines Operations", Role.IT_OPERATIONS, []),
    ("reviewer", "Rita Reviewer", Role.RISK_REVIEWER, []),
    ("manager", "Mona Manager", Role.MANAGER, []),
]
DEMO_TEAMS = ["Diagnostics", "Customer Analytics", "Forecasting"]
