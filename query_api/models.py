"""Response envelopes shared by every router: provenance first, then the page of items."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from query_api.definitions import METRIC_DEFINITIONS_VERSION
from query_api.params import CurrencyMode


class Provenance(BaseModel):
    metric_definitions_version: str = Field(
        default=METRIC_DEFINITIONS_VERSION, description="Version of the metric definitions (GET /v1/definitions)."
    )
    data_as_of: date | None = Field(
        description="Last UTC day the numbers include (the warehouse data horizon the read models were built "
        "from); null before any data."
    )
    read_models_refreshed_at: datetime | None = Field(description="When the read models were last rebuilt.")


class Paged(Provenance):
    page: int
    page_size: int
    total_items: int


class Window(BaseModel):
    start: date
    end: date


class MoneyView(BaseModel):
    currency_mode: CurrencyMode
    reporting_currency: str | None = Field(description="ISO-4217 code of the reporting currency.")


class ErrorBody(BaseModel):
    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid API key (X-API-Key header)."},
    422: {"description": "A query parameter is invalid; `detail` says which and why."},
    503: {"model": ErrorBody, "description": "The warehouse is unavailable, busy or not migrated; see Retry-After."},
}
