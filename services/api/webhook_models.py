"""HTTP models of webhook subscriptions and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from fapiao.webhooks.policy import EventType
from fapiao.webhooks.store import DeliveryInfo, SubscriptionInfo

EMAIL = r"^[^@\s\r\n]+@[^@\s\r\n]+\.[^@\s\r\n]+$"


class SubscriptionCreate(BaseModel):
    """Exactly one of `url` (signed HTTPS POSTs) or `email` (mail, when the deployment has SMTP)."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl | None = Field(default=None, description="https:// (http:// only outside production)")
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)
    events: list[EventType] = Field(min_length=1, description="result, follow_up, alert")
    secret: str | None = Field(
        default=None,
        min_length=24,
        max_length=200,
        description="your own signing secret; one is made if left out",
    )

    @model_validator(mode="after")
    def _one_target(self) -> SubscriptionCreate:
        if (self.url is None) == (self.email is None):
            raise ValueError("give exactly one of url or email")
        return self


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = Field(default=None, description="true also lifts an automatic pause")
    url: AnyHttpUrl | None = None
    events: list[EventType] | None = Field(default=None, min_length=1)


class SubscriptionOut(BaseModel):
    id: str
    kind: Literal["url", "email"]
    target: str
    events: list[str]
    active: bool
    paused: bool = Field(description="paused after repeated failures: PATCH active=true to resume")
    paused_at: datetime | None
    consecutive_failures: int
    created_at: datetime

    @classmethod
    def of(cls, info: SubscriptionInfo) -> SubscriptionOut:
        return cls(
            id=info.id,
            kind=info.kind,  # type: ignore[arg-type]
            target=info.target,
            events=list(info.events),
            active=info.active,
            paused=info.paused_at is not None,
            paused_at=info.paused_at,
            consecutive_failures=info.consecutive_failures,
            created_at=info.created_at,
        )


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str = Field(description="the signing secret: shown this once")


class SubscriptionsOut(BaseModel):
    data: list[SubscriptionOut]
    count: int


class DeliveryOut(BaseModel):
    id: int
    subscription_id: str
    event_type: str
    event_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_response: str | None
    last_error: str | None
    last_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, info: DeliveryInfo) -> DeliveryOut:
        return cls(**info.__dict__)


class DeliveriesOut(BaseModel):
    data: list[DeliveryOut]
    count: int
