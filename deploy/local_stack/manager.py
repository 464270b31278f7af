"""`ledgerline services up|down|status|reset`: the whole native stack, idempotently.

`up` installs what is missing (in parallel: the MinIO build is the long pole on a cold
machine), starts whatever is not running, and waits until every service answers its health
probe. A second `up` only checks health.
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor

from deploy.local_stack.base import LocalService, ServiceStatus
from deploy.local_stack.kafka import KafkaService
from deploy.local_stack.minio import MinioService
from deploy.local_stack.postgres import PostgresService
from deploy.local_stack.prefect import PrefectService
from deploy.local_stack.process import say
from platform_common.config import Settings

SERVICE_TYPES: dict[str, type[LocalService]] = {
    "postgres": PostgresService,
    "kafka": KafkaService,
    "minio": MinioService,
    "prefect": PrefectService,
}


def services(settings: Settings, names: list[str] | None = None) -> list[LocalService]:
    chosen = names or list(SERVICE_TYPES)
    unknown = sorted(set(chosen) - set(SERVICE_TYPES))
    if unknown:
        raise ValueError(f"unknown service(s) {unknown}; choose from {sorted(SERVICE_TYPES)}")
    return [SERVICE_TYPES[name](settings) for name in chosen]


def up(settings: Settings, names: list[str] | None = None) -> dict[str, str]:
    """Returns what happened per service: 'already running' or 'started in N s'."""
    started = time.monotonic()
    chosen = services(settings, names)
    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        list(pool.map(lambda service: service.install(), chosen))

    def bring_up(service: LocalService) -> str:
        if service.is_running():
            if service.is_healthy():
                return "already running"
            say(service.name, "running but not healthy yet; waiting")
            service.wait_healthy(settings.services.start_timeout_s)
            return "already running"
        if service.is_healthy():
            raise RuntimeError(
                f"{service.name}: another process already answers on {service.endpoint()} "
                "(not started by this checkout); stop it or change the port settings"
            )
        service_started = time.monotonic()
        service.start()
        service.wait_healthy(settings.services.start_timeout_s)
        return f"started in {time.monotonic() - service_started:.1f}s"

    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        outcomes = dict(zip([service.name for service in chosen], pool.map(bring_up, chosen), strict=True))
    for name, outcome in outcomes.items():
        say(name, outcome)
    say("services", f"all healthy in {time.monotonic() - started:.1f}s")
    return outcomes


def down(settings: Settings, names: list[str] | None = None) -> dict[str, bool]:
    return {service.name: service.stop() for service in reversed(services(settings, names))}


def status(settings: Settings, names: list[str] | None = None) -> list[ServiceStatus]:
    return [service.status() for service in services(settings, names)]


def reset(settings: Settings) -> None:
    """Stop everything and delete the data folder (installs in the cache are kept)."""
    down(settings)
    data_dir = settings.services.data_dir.resolve()
    if data_dir.exists():
        shutil.rmtree(data_dir)
        say("services", f"deleted {data_dir}")
