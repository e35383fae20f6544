"""Dependencies: the services the composition root put on ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from ..service.audit import AuditLog
from ..service.batches import OvernightBatches
from ..service.feature_store import FeatureStore
from ..service.requests import DecisionRequests
from ..service.routing import Router


def get_requests(request: Request) -> DecisionRequests:
    requests: DecisionRequests = request.app.state.decision_requests
    return requests


def get_features(request: Request) -> FeatureStore:
    features: FeatureStore = request.app.state.features
    return features


def get_audit(request: Request) -> AuditLog:
    audit: AuditLog = request.app.state.audit
    return audit


def get_router(request: Request) -> Router:
    router: Router = request.app.state.router
    return router


def get_batches(request: Request) -> OvernightBatches:
    batches: OvernightBatches | None = request.app.state.decision_requests.batches
    if batches is None:
        raise HTTPException(404, "overnight batches need the claude provider (AI_DECISION_ROUTING)")
    return batches


RequestsDep = Annotated[DecisionRequests, Depends(get_requests)]
FeaturesDep = Annotated[FeatureStore, Depends(get_features)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]
RouterDep = Annotated[Router, Depends(get_router)]
BatchesDep = Annotated[OvernightBatches, Depends(get_batches)]
