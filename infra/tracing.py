"""OpenTelemetry traces: one trace per delivery, from the webhook through the relay, workflows
and activities to each agent's think, LLM call and gateway intent.

Off by default: ``configure`` installs a tracer provider only when the standard ``OTEL_*``
variables name an exporter (infra/settings.py ``TracingSettings``); until then ``tracer()`` is
OpenTelemetry's no-op tracer and Temporal clients get no tracing interceptor, so an untraced
process pays nothing. The provider is this module's, not OpenTelemetry's global one, so a test
can install an in-memory exporter and take it away again.

How a delivery's spans meet: the webhook answers before the relay starts its workflow, in
another task or another API process, so no context can be handed over in memory. Both derive
it from the event's workflow id instead (``delivery_context``): the webhook's span gets that
trace id and span id, and the relay's ``StartWorkflow`` span (made by Temporal's tracing
interceptor, which then carries the context in workflow and activity headers) is its child.
Sampling is the SDK's, from ``OTEL_TRACES_SAMPLER`` (e.g. ``parentbased_traceidratio`` with
``OTEL_TRACES_SAMPLER_ARG=0.1``): a delivery's spans share its trace id, so they are kept or
dropped together. Attributes hold ids, names, counts and outcomes, never a body, prompt, answer
or credential.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
from collections.abc import Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision
from temporalio import client as temporal_client
from temporalio.contrib.opentelemetry import TracingInterceptor

from infra.settings import TracingSettings

_NAME = "switchboard"
_SAMPLED = (Decision.RECORD_AND_SAMPLE,)
_provider: TracerProvider | None = None
_forced: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
    "switchboard_forced_ids", default=None)


class _DeliveryIds(IdGenerator):
    """Random ids, except while a delivery's own span is being started (``delivery_root``)."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        forced = _forced.get()
        return forced[1] if forced else self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        forced = _forced.get()
        return forced[0] if forced else self._random.generate_trace_id()


def configure(settings: TracingSettings, service: str,
              exporter: SpanExporter | None = None) -> bool:
    """Install this process's tracer provider if tracing is on (or ``exporter`` is given).

    Returns whether tracing is on. A second call keeps the first provider. The OTLP exporter
    (http/protobuf) sends to the settings' endpoint (``<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces``
    unless the traces endpoint is given) and reads headers, timeouts and compression from the
    other ``OTEL_EXPORTER_OTLP_*`` variables itself; spans are exported in batches off the
    request path.
    """
    global _provider
    if _provider is not None:
        return True
    kind = settings.exporter()
    if exporter is None and kind is None:
        return False
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.service_name or service}),
        id_generator=_DeliveryIds())
    if exporter is not None:  # tests: in memory, exported as each span ends
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif kind == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        endpoint = settings.exporter_otlp_traces_endpoint or (
            f"{settings.exporter_otlp_endpoint.rstrip('/')}/v1/traces"
            if settings.exporter_otlp_endpoint else None)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    _provider = provider
    return True


def shutdown() -> None:
    """Flush and remove this process's provider (tracing is off again)."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def active() -> bool:
    """Whether this process traces."""
    return _provider is not None


def tracer() -> trace.Tracer:
    """Switchboard's tracer: the configured provider's, or a no-op one."""
    if _provider is None:
        return trace.NoOpTracer()
    return _provider.get_tracer(_NAME)


def client_interceptors() -> list[temporal_client.Interceptor]:
    """What a Temporal client needs to carry traces (and its workers to make spans); none when
    tracing is off."""
    if _provider is None:
        return []
    return [_DeliveryInterceptor(), TracingInterceptor(tracer())]


@contextlib.contextmanager
def span(name: str, attributes: dict[str, str | int], *,
         kind: trace.SpanKind = trace.SpanKind.INTERNAL) -> Iterator[trace.Span]:
    """A span around a block; an exception marks it failed with its type only (``error.type``),
    never its message, which may quote content or, from a client library, a credential."""
    with tracer().start_as_current_span(name, kind=kind, attributes=attributes,
                                        record_exception=False,
                                        set_status_on_exception=False) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_attribute("error.type", type(exc).__name__)
            current.set_status(trace.StatusCode.ERROR)
            raise


def delivery_ids(workflow_id: str) -> tuple[int, int]:
    """The trace id and the webhook span's id of an event workflow, derived from its id."""
    digest = hashlib.sha256(b"switchboard-trace\x00" + workflow_id.encode()).digest()
    trace_id = int.from_bytes(digest[:16], "big") or 1
    span_id = int.from_bytes(digest[16:24], "big") or 1
    return trace_id, span_id


def delivery_context(workflow_id: str) -> otel_context.Context:
    """A context whose parent is the delivery's webhook span (for the relay, a redelivery)."""
    trace_id, span_id = delivery_ids(workflow_id)
    sampled = _provider is not None and _provider.sampler.should_sample(
        None, trace_id, "delivery").decision in _SAMPLED  # as the webhook's root span was
    parent = trace.SpanContext(trace_id, span_id, is_remote=True, trace_flags=trace.TraceFlags(
        trace.TraceFlags.SAMPLED if sampled else trace.TraceFlags.DEFAULT))
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


@contextlib.contextmanager
def delivery_root(workflow_id: str) -> Iterator[None]:
    """Spans started in this block without a parent get the delivery's own trace and span id."""
    token = _forced.set(delivery_ids(workflow_id))
    try:
        yield
    finally:
        _forced.reset(token)


class _DeliveryInterceptor(temporal_client.Interceptor):
    """Starts an event's workflow inside its delivery's trace (see the module docstring)."""

    def intercept_client(
        self, next: temporal_client.OutboundInterceptor
    ) -> temporal_client.OutboundInterceptor:
        return _DeliveryOutbound(next)


class _DeliveryOutbound(temporal_client.OutboundInterceptor):
    async def start_workflow(
        self, input: temporal_client.StartWorkflowInput
    ) -> temporal_client.WorkflowHandle[Any, Any]:
        if not input.id.startswith("event/") or trace.get_current_span().get_span_context(
        ).is_valid:
            return await super().start_workflow(input)
        token = otel_context.attach(delivery_context(input.id))
        try:
            return await super().start_workflow(input)
        finally:
            otel_context.detach(token)
