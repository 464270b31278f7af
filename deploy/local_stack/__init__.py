"""The native (no Docker) service stack used by developers, the demo and CI."""

from deploy.local_stack.base import ServiceStatus
from deploy.local_stack.manager import SERVICE_TYPES, down, reset, status, up

__all__ = ["SERVICE_TYPES", "ServiceStatus", "down", "reset", "status", "up"]
