"""Parse untrusted uploads without executing them. Imports nothing from Django.

Each file is parsed in a child process under memory and CPU limits, forked by a small server process that
has the parsers imported already (``serve``; registry.inspector.inspect_file talks to it), so a huge or
hostile file can only take the child down. The child answers one JSON object: ``{"ok": true, ...facts}``
or ``{"ok": false, "error": "<a message a person can act on>"}``. ``python -m registry.inspection KIND PATH
[LABEL]`` does the same from a shell.

ONNX graphs are decoded as protobuf and checked with ``onnx.checker``; nothing in them runs. Pickles are
recognised by their first bytes and refused: loading a pickle runs code.
"""

from registry.inspection.graph import checked, runtime_refusal
from registry.inspection.sandbox import inspect
from registry.inspection.sniff import Rejected, describe_foreign

__all__ = ["Rejected", "checked", "describe_foreign", "inspect", "runtime_refusal"]
