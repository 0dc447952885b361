"""Device configuration: YAML files in, validated DeviceConfig objects out.

Every error names its file, line, column and key; see wand.config.loader.
"""

from wand.config.errors import ConfigError, ConfigErrors, format_errors
from wand.config.loader import expand_paths, load_configs, load_device, load_site

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "expand_paths",
    "format_errors",
    "load_configs",
    "load_device",
    "load_site",
]
