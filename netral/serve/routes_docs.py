"""API documentation at /docs, rendered on the server from the OpenAPI schema.

FastAPI's default Swagger page loads its JavaScript from a CDN and runs inline script, which neither
an offline machine nor our Content-Security-Policy allows; this page needs neither.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from netral.serve.deps import optional_user, render

router = APIRouter(include_in_schema=False)

# FastAPI writes these response descriptions itself when a route names none; the page is Indonesian.
DEFAULT_DESCRIPTIONS = {"Successful Response": "Berhasil", "Validation Error": "Galat validasi: isi permintaan "
                        "tidak sesuai skema"}


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return spec.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], schema)
    return schema


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    ops = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            responses = []
            for code, resp in op.get("responses", {}).items():
                schema = resp.get("content", {}).get("application/json", {}).get("schema")
                description = resp.get("description", "")
                responses.append({"code": code, "description": DEFAULT_DESCRIPTIONS.get(description, description),
                                  "schema": json.dumps(_resolve(schema, spec), indent=2, ensure_ascii=False)
                                  if schema else None})
            examples = body.get("examples") or {}
            example = next(iter(examples.values()), {}).get("value") if isinstance(examples, dict) else None
            if example is None:
                example = body.get("schema", {}).get("examples", [None])[0]
            ops.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "security": bool(op.get("security")),
                "body_schema": json.dumps(_resolve(body.get("schema", {}), spec), indent=2, ensure_ascii=False)
                if body else None,
                "example": json.dumps(example, indent=2, ensure_ascii=False) if example is not None else None,
                "responses": responses,
            })
    return ops


@router.get("/docs")
def docs(request: Request) -> Response:
    spec = request.app.openapi()
    session = request.app.state.sessions()
    try:
        user = optional_user(request, session)
        return render(request, "api_docs.html", {"spec": spec, "ops": operations(spec)}, user=user)
    finally:
        session.close()
