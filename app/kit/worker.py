"""What arq jobs get from the worker: the process's resources, opened once at start-up."""

from typing import Any

from app.kit.resources import Resources

JobContext = dict[str, Any]


def resources_of(ctx: JobContext) -> Resources:
    resources = ctx["resources"]
    assert isinstance(resources, Resources)
    return resources
