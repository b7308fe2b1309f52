"""Writes of imports: sources, runs and the import itself (imports/services/runs.py)."""

from imports.services.runs import (
    Options,
    import_plan,
    import_run_create,
    import_run_execute,
    import_source_save,
    import_sources_sync,
    importer_account,
)

__all__ = [
    "Options",
    "import_plan",
    "import_run_create",
    "import_run_execute",
    "import_source_save",
    "import_sources_sync",
    "importer_account",
]
