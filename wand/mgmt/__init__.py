"""The wanpipemon management protocol: commands served over UDP (and locally)."""

from __future__ import annotations

import importlib

# Modules that register commands (daemon side with @mgmt_command, client side
# with @renderer / @client_command). Optional ones may be absent from an install.
COMMAND_MODULES = ("wand.mgmt.stats_commands", "wand.mgmt.render")
OPTIONAL_COMMAND_MODULES = ("wand.mgmt.trace_commands", "wand.mgmt.x25_commands", "wand.mgmt.render_x25")


def load_commands() -> None:
    """Import every module that registers management commands; idempotent."""
    for name in COMMAND_MODULES:
        importlib.import_module(name)
    for name in OPTIONAL_COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but is broken: that is a bug to see
                raise
