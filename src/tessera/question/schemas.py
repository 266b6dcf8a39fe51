"""Request and response schemas of /api/v1/events/{eventId}/questions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from tessera.kit.schema import RequestModel

QuestionType = Literal[
    "text",
    "long_text",
    "single_choice",
    "multiple_choice",
    "checkbox",
    "number",
    "phone",
    "date",
]
Label = Annotated[str, Field(min_length=1, max_length=200)]
Option = Annotated[str, Field(min_length=1, max_length=200)]
Options = Annotated[list[Option], Field(max_length=100)]
ClassId = Annotated[str, Field(min_length=1, max_length=64)]
ClassIds = Annotated[list[ClassId], Field(max_length=100)]
Position = Annotated[int, Field(ge=0, le=1_000_000)]


class QuestionCreate(RequestModel):
    label: Label
    type: QuestionType
    options: Options | None = None
    required: bool = False
    ticket_class_ids: ClassIds = Field(default_factory=list)
    position: Position | None = Field(default=None, description="Default: after the last one")


class QuestionUpdate(RequestModel):
    label: Label | None = None
    options: Options | None = None
    required: bool | None = None
    ticket_class_ids: ClassIds | None = None
    position: Position | None = None
    type: Any = Field(default=None, description="Cannot be changed; create a new question")


class QuestionOut(BaseModel):
    id: str
    event_id: str
    label: str
    type: QuestionType
    options: list[str]
    required: bool
    ticket_class_ids: list[str]
    position: int
    created_at: str
    updated_at: str


class QuestionEnvelope(BaseModel):
    data: QuestionOut


class QuestionList(BaseModel):
    data: list[QuestionOut]


class QuestionDeleted(BaseModel):
    deleted: bool
    id: str
