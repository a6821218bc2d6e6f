"""Every job is registered once, under a stable dotted name."""

import importlib
import inspect
import pkgutil
import re

import app
from workers.settings import CRON_JOBS, FUNCTIONS, WorkerSettings

DOTTED = re.compile(r"^[a-z]+(\.[a-z_]+)+$")


def _task_functions() -> set[object]:
    found: set[object] = set()
    for module_info in pkgutil.walk_packages(app.__path__, "app."):
        if module_info.name.endswith(".tasks"):
            module = importlib.import_module(module_info.name)
            for _, function in inspect.getmembers(module, inspect.iscoroutinefunction):
                if function.__module__ == module.__name__ and not function.__name__.startswith("_"):
                    found.add(function)
    return found


def test_every_task_function_is_registered() -> None:
    # Registered as they are, inside the metrics wrapper.
    registered = {inspect.unwrap(function.coroutine) for function in FUNCTIONS}
    assert _task_functions() <= registered
    assert _task_functions(), "no task modules found"


def test_job_names_are_unique_and_dotted() -> None:
    names = [function.name for function in FUNCTIONS]
    assert len(names) == len(set(names))
    assert all(DOTTED.match(name) for name in names), names
    cron_names = [job.name for job in CRON_JOBS]
    assert len(cron_names) == len(set(cron_names))


def test_worker_uses_json_not_pickle() -> None:
    payload = {"f": "auth.prune_refresh_tokens", "a": [1], "k": {}}
    assert WorkerSettings.job_deserializer(WorkerSettings.job_serializer(payload)) == payload
