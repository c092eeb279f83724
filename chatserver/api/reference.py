"""``GET /api/v1/reference``: the OpenAPI document as a page people read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from chatserver.api.spec import ERRORS

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"])
)
_CODE = re.compile(r"`([^`]+)`")


def _code(text: str) -> Markup:
    """Escaped text with its `backticked` parts as <code> (the descriptions are Markdown)."""
    return Markup(_CODE.sub(r"<code>\1</code>", str(escape(text))))


_env.filters["code"] = _code


def _type(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    kind = str(schema.get("type", "any"))
    if "maxLength" in schema:
        kind += f", up to {schema['maxLength']} characters"
    if "maximum" in schema:
        kind += f", {schema.get('minimum', 0)} to {schema['maximum']}"
    return kind


def _example(method: str, path: str, op: dict[str, Any]) -> str:
    # /api/v1/conversations/{conv_id} -> $CHATSERVER/api/v1/conversations/$CONV_ID
    url = "$CHATSERVER" + re.sub(r"\{(\w+)\}", lambda m: "$" + m.group(1).upper(), path)
    lines = [f'curl -X {method} "{url}" \\', '  -H "Authorization: Bearer $KEY"']
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    if body:
        props = body["schema"].get("properties", {})
        required = body["schema"].get("required", [])
        sample = {name: f"<{name}>" for name in props if name in required}
        lines[-1] += " \\"
        lines.append('  -H "Content-Type: application/json" \\')
        lines.append(f"  -d '{json.dumps(sample, ensure_ascii=False)}'")
    return "\n".join(lines)


def endpoints(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            schema = body.get("schema", {})
            out.append(
                {
                    "id": op["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "summary": op["summary"],
                    "description": op["description"],
                    "scope": op["x-scope"],
                    "params": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p["required"],
                            "type": _type(p["schema"]),
                            "description": p.get("description", ""),
                        }
                        for p in op["parameters"]
                    ],
                    "body": [
                        {
                            "name": name,
                            "required": name in schema.get("required", []),
                            "type": _type(prop),
                            "description": prop.get("description", ""),
                        }
                        for name, prop in schema.get("properties", {}).items()
                    ],
                    "responses": [(s, r["description"]) for s, r in op["responses"].items()],
                    "example": _example(method.upper(), path, op),
                }
            )
    return out


def reference_page(doc: dict[str, Any]) -> Any:
    # The document is fixed for the life of the process: render it once.
    html = _env.get_template("reference.html").render(
        doc=doc, errors=ERRORS, endpoints=endpoints(doc)
    )

    async def page(request: Request) -> Response:
        return HTMLResponse(html)

    return page
