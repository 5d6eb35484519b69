"""The FastAPI app: routes, error rendering, the reward model wiring, the middleware."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from acesandbox.extract import split_query

from ..adapters.openrlhf import to_response
from ..dataset import TESTS_KEYS, ProblemIndex, coerce_tests, resolve_tests
from ..errors import DatasetError, TestsNotFoundError
from ..rewards import sandbox_warnings
from .config import ServerConfig
from .guard import _authorized, _Guard
from .models import OpenRLHFRequest, ScoreRequest
from .responses import HTTPError, _unavailable
from .service import RewardService, _sized

if TYPE_CHECKING:
    from acesandbox import Executor

    from ..model_reward import ModelReward


def _ascii_json(content: dict[str, Any]) -> Response:
    """``content`` as JSON with non-ASCII escaped: a completion's lone surrogate (valid in a JSON
    string, not in UTF-8), echoed back as its ``program``, would fail the default rendering,
    and that 503 would have the trainer retry the same request forever."""
    body = json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return Response(body.encode("ascii"), media_type="application/json")


def _raw_size(values: Iterable[Any]) -> tuple[int, int]:
    """Of raw tests values (lists, JSON strings, ``{"tests": ...}`` labels), before any is parsed:
    the entries of the lists (a floor on their tests) and the characters of the strings (a JSON
    list of them holds about one test per 4 at most)."""
    entries = chars = 0
    for value in values:
        if isinstance(value, Mapping):
            value = next((value[k] for k in TESTS_KEYS if k in value), None)
        if isinstance(value, list):
            entries += len(value)
        elif isinstance(value, str):
            chars += len(value)
    return entries, chars


def create_app(
    config: ServerConfig | None = None,
    *,
    problems: ProblemIndex | None = None,
    executor: Executor | None = None,
    model_reward: ModelReward | None = None,
) -> FastAPI:
    """The reward server's ASGI app (serve it with uvicorn, or :class:`RewardServer`).

    ``problems``: the dataset whose rows' tests requests refer to by id or question.
    ``executor``: an ``acesandbox.Executor`` to score on (e.g. a fake one in tests);
    by default the app starts its own at start-up and kills it at shutdown.
    ``model_reward``: a reward model (:mod:`rm_rl.model_reward`) that ``/get_reward``
    answers with, alone or mixed with the rule reward; closed at shutdown.
    """
    config = config or ServerConfig()
    service = RewardService(config, problems=problems, executor=executor)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await service.startup()
        try:
            yield
        finally:
            await service.shutdown()
            if model_reward is not None:
                model_reward.close()

    app = FastAPI(
        title="acecoder reward server",
        summary="Rule-based code rewards from a hardened sandbox; None (null), never 0, when the sandbox fails.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.service = service

    def authorize(request: Request) -> None:
        if not _authorized(config.token, request.scope["headers"]):
            raise HTTPError(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(HTTPError)
    async def _http_error(_request: Request, exc: HTTPError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        error = _unavailable(exc, service.draining)  # logged with its traceback; the trainer retries
        return JSONResponse({"detail": error.detail}, status_code=error.status, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"detail": "request body is not valid JSON"}, status_code=400)
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        detail = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid request"))
        slim = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors[:20]]
        return JSONResponse({"detail": detail, "errors": slim}, status_code=422)

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        """Liveness for anyone; what is served and the sandbox's warnings only with the token
        (or on an open, loopback-only server): they tell an attacker how weak the sandbox is."""
        if not _authorized(config.token, request.scope["headers"]):
            return {"status": "draining" if service.draining else "ok"}
        return service.health()

    @app.get("/metrics", dependencies=[Depends(authorize)])
    async def metrics() -> dict[str, Any]:
        """Throughput, latency percentiles, outcome and test-status counts, sandbox errors, queue depth."""
        return service.metrics_snapshot()

    @app.post("/get_reward", dependencies=[Depends(authorize)])
    async def get_reward(body: OpenRLHFRequest) -> dict[str, Any]:
        """OpenRLHF ``--remote_rm_url`` (and the AceCoder server's) request."""
        n = len(body.query)
        for name in ("prompts", "labels"):
            value = getattr(body, name)
            if value is not None and len(value) != n:
                raise HTTPError(422, f"{name} has {len(value)} entries for {n} queries")
        if model_reward is not None and not model_reward.config.hybrid:
            return model_reward.answer(await model_reward.model_scores(body.query, body.prompts))
        listed, json_chars = _raw_size(body.labels or ())
        service.check_tests(listed)  # before any label is parsed
        chars = sum(len(q) for q in body.query) + sum(len(p) for p in body.prompts or ())

        def resolve() -> tuple[list[tuple[Any, str]], list[Any]]:
            pairs = [split_query(q, body.prompts[i] if body.prompts else None) for i, q in enumerate(body.query)]
            tests = []
            for i in range(n):
                label = body.labels[i] if body.labels else None
                try:
                    tests.append(
                        resolve_tests(label, pairs[i][0] or body.query[i], service.problems, where=f"labels[{i}]")
                    )
                except (TestsNotFoundError, DatasetError) as exc:
                    raise HTTPError(422, str(exc)) from None
                except RecursionError:  # JSON nested past the parser's depth: the request's fault, not a 503
                    raise HTTPError(422, f"labels[{i}]: tests nested too deeply") from None
            return pairs, tests

        pairs, tests = await _sized(resolve, n, listed + json_chars // 4, json_chars + chars)
        reward = service.reward(None)
        rule = service.score(reward, [r for _, r in pairs], tests, [p for p, _ in pairs])
        if model_reward is not None:  # a hybrid: both at once
            model, scores = await asyncio.gather(model_reward.model_scores(body.query, body.prompts), rule)
            answer = model_reward.answer(model, [s.reward for s in scores])
            return await service.respond(scores, lambda: {**answer, "warnings": sandbox_warnings(scores)})
        scores = await rule
        return await service.respond(
            scores, lambda: {**to_response(scores, as_tensors=False), "warnings": sandbox_warnings(scores)}
        )

    @app.post("/score", dependencies=[Depends(authorize)])
    async def score(body: ScoreRequest) -> Response:
        """Plain JSON: each item brings its completion and its tests (or a dataset id)."""
        listed, json_chars = _raw_size(item.tests for item in body.items)
        service.check_tests(listed)  # before any item's tests are parsed

        def resolve() -> list[Any]:
            tests = []
            for i, item in enumerate(body.items):
                if item.tests is not None:
                    try:
                        tests.append(coerce_tests(item.tests, where=f"items[{i}].tests"))
                    except (DatasetError, TestsNotFoundError) as exc:
                        raise HTTPError(422, str(exc)) from None
                    except RecursionError:  # as above: a 503 would have the trainer retry it forever
                        raise HTTPError(422, f"items[{i}].tests: nested too deeply") from None
                elif item.id is not None:
                    if service.problems is None:
                        raise HTTPError(422, f"items[{i}]: an id needs a dataset (start the server with --dataset)")
                    try:
                        tests.append(service.problems[str(item.id)])
                    except TestsNotFoundError as exc:
                        raise HTTPError(422, f"items[{i}]: {exc}") from None
                else:
                    raise HTTPError(422, f"items[{i}]: give 'tests' or an 'id' of the dataset")
            return tests

        tests = await _sized(resolve, len(body.items), listed + json_chars // 4, json_chars)
        reward = service.reward(body.reward)
        prompts = [item.prompt for item in body.items]
        scores = await service.score(reward, [item.completion for item in body.items], tests, prompts)
        return await service.respond(
            scores,
            lambda: _ascii_json({
                "reward": reward.config.kind,
                "results": [s.to_dict(details=body.details) for s in scores],
                "sandbox_errors": sum(1 for s in scores if s.outcome == "sandbox_error"),
                "isolation": sorted({s.isolation for s in scores if s.isolation}),
                "warnings": sandbox_warnings(scores),
            }),
        )

    app.add_middleware(_Guard, service=service)
    return app
