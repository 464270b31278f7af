"""Reference data for clients: filter values (regions, plans, metrics, categories) and the
metric definitions with their version."""

from __future__ import annotations

from enum import StrEnum

from fastapi import APIRouter
from pydantic import BaseModel

from query_api.definitions import CURRENCY, FORMULAS, PERIODS
from query_api.deps import ReadModelsDep, SessionDep, provenance
from query_api.models import ERROR_RESPONSES, Paged, Provenance
from query_api.params import PageDep
from query_api.routers.common import paged_rows

router = APIRouter(prefix="/v1", tags=["reference"], responses=ERROR_RESPONSES)


class Dimension(StrEnum):
    REGION = "region"
    PLAN = "plan"
    METRIC = "metric"
    CATEGORY = "category"


class DimensionValue(BaseModel):
    id: str
    name: str | None


class DimensionResponse(Paged):
    dimension: Dimension
    items: list[DimensionValue]


class DefinitionsResponse(Provenance):
    periods: str
    currency: str
    formulas: dict[str, str]


@router.get("/dimensions/{dimension}", response_model=DimensionResponse, summary="Values of a filter dimension")
async def dimension_values(
    session: SessionDep, state: ReadModelsDep, dimension: Dimension, page: PageDep
) -> DimensionResponse:
    rows, total_items = await paged_rows(session, "dimension_values", {"dimension": dimension.value}, page)
    return DimensionResponse(
        **provenance(state),
        dimension=dimension,
        page=page.page,
        page_size=page.page_size,
        total_items=total_items,
        items=[DimensionValue(id=row["value_id"], name=row["value_name"]) for row in rows],
    )


@router.get("/definitions", response_model=DefinitionsResponse, summary="Metric definitions and their version")
async def definitions(state: ReadModelsDep) -> DefinitionsResponse:
    return DefinitionsResponse(**provenance(state), periods=PERIODS, currency=CURRENCY, formulas=FORMULAS)
