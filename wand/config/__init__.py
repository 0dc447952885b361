"""Device configuration: YAML files in, validated DeviceConfig objects out.

Every error names its file, line, column and key; see wand.config.loader.
"""

from wand.config.errors import ConfigError, ConfigErrors, format_errors
from wand.config.loader import load_configs, load_device

__all__ = ["ConfigError", "ConfigErrors", "format_errors", "load_configs", "load_device"]
