"""The context engine's knowledge store: chunking, embeddings, tenant-filtered vector search,
thread memory and summaries (PostgreSQL + pgvector)."""

from infra.context.chunking import Chunk, Chunker, count_tokens, truncate_tokens
from infra.context.embedders import Embedder, OnnxMiniLMEmbedder, OpenAIEmbedder, build_embedder
from infra.context.search import Hit
from infra.context.store import DimensionMismatchError, KnowledgeStore
from infra.context.summarize import (
    ExtractiveSummarizer,
    OpenAISummarizer,
    Summarizer,
    build_summarizer,
    summarize_thread,
)
from infra.context.thread_model import Message, ThreadKey, ThreadToSummarize

__all__ = [
    "Chunk",
    "Chunker",
    "DimensionMismatchError",
    "Embedder",
    "ExtractiveSummarizer",
    "Hit",
    "KnowledgeStore",
    "Message",
    "OnnxMiniLMEmbedder",
    "OpenAIEmbedder",
    "OpenAISummarizer",
    "Summarizer",
    "ThreadKey",
    "ThreadToSummarize",
    "build_embedder",
    "build_summarizer",
    "count_tokens",
    "summarize_thread",
    "truncate_tokens",
]
