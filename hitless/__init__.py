"""The hitless CLI: offline preview under Pulumi's mock runtime, and checks of existing configs."""

from importlib import metadata

DISTRIBUTION = "hitless"
"""The distribution's name on an index and in `pip install`."""


def package_version() -> str:
    """The installed distribution's version: `version` in pyproject.toml, its one source."""
    return metadata.version(DISTRIBUTION)
