"""The context engine for agents: search the tenant's memory, add documents to it.

The tenant always comes from the caller's access token: an agent can only ever read and write
its own tenant's memory.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import AgentDep, KnowledgeDep
from api.errors import ApiError
from api.inputs import Text
from infra.auth.tokens import AgentPrincipal
from workflows.contracts import ContextItem

router = APIRouter(prefix="/context", tags=["context"])

Source = Literal["slack_thread", "github_thread", "clickup_thread", "readme", "summary",
                 "clickup_task", "document"]


class SearchBody(BaseModel):
    """A search of the caller's tenant memory."""

    query: Text = Field(min_length=1, max_length=8000)
    k: int = Field(default=5, ge=1, le=50)
    project_id: Text | None = None
    sources: list[Source] | None = None


class DocumentBody(BaseModel):
    """A document to remember (re-sending the same source key replaces it).

    A NUL character in the text is dropped (PostgreSQL text cannot hold it, and a stray one in a
    pasted file should not cost the upload); in any other field it is refused with a 422.
    """

    source: Source = "document"
    source_key: Text = Field(min_length=1, max_length=500,
                             description="e.g. owner/repo for a README")
    title: Text = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1, max_length=2_000_000,
                      description="NUL characters are dropped")
    url: Text | None = Field(default=None, max_length=2000)
    project_id: Text | None = None


class DocumentStored(BaseModel):
    """The stored document's id (searchable as soon as this answers)."""

    id: int


def _scope(agent: AgentPrincipal) -> None:
    if "agent" not in agent.scopes:
        raise ApiError(403, "insufficient_scope", "this token lacks the agent scope")


@router.post("/search", summary="Search the caller's tenant memory")
async def search(body: SearchBody, agent: AgentDep, knowledge: KnowledgeDep) -> list[ContextItem]:
    """The most relevant chunks of the tenant's threads, READMEs, summaries and documents."""
    _scope(agent)
    return await knowledge.search(agent.tenant_id, body.query, k=body.k,
                                  project_id=body.project_id, sources=body.sources)


@router.post("/documents", status_code=201, summary="Add a document to the tenant memory")
async def add_document(body: DocumentBody, agent: AgentDep, knowledge: KnowledgeDep
                       ) -> DocumentStored:
    """Chunk, embed and store a document in the caller's tenant."""
    _scope(agent)
    doc_id = await knowledge.add_document(
        agent.tenant_id, body.project_id, body.source, body.source_key, body.title, body.url,
        body.text)
    return DocumentStored(id=doc_id)
