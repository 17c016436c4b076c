#!/usr/bin/env python3
"""Writes docs/api.html, the API reference the server serves at GET /docs, from openapi.yaml.

Usage: build-api-docs.py [OPENAPI.yaml] [OUTPUT.html]   (defaults: openapi.yaml, docs/api.html)
       build-api-docs.py --self-test                    (shows that spec text is escaped)

Run it after every change to openapi.yaml and commit the result: scripts/test.sh regenerates the
page into a temporary file and fails when it differs from the committed one. Needs PyYAML (the
test venv has it; so does most system Python). The page is one static file: no JavaScript, no
external resources, every spec text HTML-escaped. Its second line records the SHA-256 of the spec it
was made from, so the server can tell when it is serving a page for another spec.
"""
import hashlib
import html
import re
import sys
from pathlib import Path

import yaml

METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def esc(text):
    return html.escape(str(text), quote=True)


def inline(text):
    """Escaped text with `code` spans; nothing else of Markdown is interpreted."""
    parts = re.split(r"(`[^`]*`)", str(text))
    return "".join(f"<code>{esc(part[1:-1])}</code>" if part.startswith("`") and part.endswith("`") and len(part) > 1
                   else esc(part) for part in parts)


def prose(text):
    """Paragraphs split on blank lines; lines starting with "- " become list items."""
    if not text:
        return ""
    out = []
    for block in re.split(r"\n\s*\n", str(text).strip()):
        lines = block.split("\n")
        paragraph, items = [], []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("- "):
                items.append(stripped[2:])
            elif items and line.startswith("  "):
                items[-1] += " " + stripped
            else:
                if items:
                    out.append("<p>" + inline(" ".join(paragraph)) + "</p>" if paragraph else "")
                    out.append("<ul>" + "".join(f"<li>{inline(item)}</li>" for item in items) + "</ul>")
                    paragraph, items = [], []
                paragraph.append(stripped)
        if paragraph:
            out.append("<p>" + inline(" ".join(paragraph)) + "</p>")
        if items:
            out.append("<ul>" + "".join(f"<li>{inline(item)}</li>" for item in items) + "</ul>")
    return "\n".join(part for part in out if part)


class Spec:
    def __init__(self, document):
        self.document = document

    def resolve(self, node):
        hops = 0
        while isinstance(node, dict) and "$ref" in node and hops < 32:
            node = self.lookup(node["$ref"])
            hops += 1
        return node if isinstance(node, dict) else {}

    def lookup(self, reference):
        node = self.document
        for part in reference.lstrip("#/").split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
        return node


def ref_name(node):
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return node["$ref"].rsplit("/", 1)[-1]
    return None


def schema_summary(spec, schema):
    """A short description of a schema: its component name, or its type and constraints."""
    if not isinstance(schema, dict):
        return ""
    name = ref_name(schema)
    if name:
        return f'<a href="#schema-{esc(name)}"><code>{esc(name)}</code></a>'
    for combinator in ("oneOf", "anyOf", "allOf"):
        if combinator in schema:
            joined = " | " if combinator != "allOf" else " & "
            return joined.join(schema_summary(spec, choice) for choice in schema[combinator])
    kind = schema.get("type", "")
    if isinstance(kind, list):
        kind = " | ".join(str(item) for item in kind)
    text = esc(kind)
    if kind == "array":
        text = "array of " + schema_summary(spec, schema.get("items", {}))
    facts = []
    for key in ("format", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "default"):
        if key in schema:
            facts.append(f"{key} <code>{esc(schema[key])}</code>")
    if "enum" in schema:
        facts.append("one of " + ", ".join(f"<code>{esc(value)}</code>" for value in schema["enum"]))
    return text + (" (" + "; ".join(facts) + ")" if facts else "")


def parameters_table(spec, parameters):
    if not parameters:
        return ""
    rows = []
    for raw in parameters:
        parameter = spec.resolve(raw)
        required = "required" if parameter.get("required") else "optional"
        rows.append(f"<tr><td><code>{esc(parameter.get('name', ''))}</code></td><td>{esc(parameter.get('in', ''))}</td>"
                    f"<td>{required}</td><td>{schema_summary(spec, parameter.get('schema'))}</td>"
                    f"<td>{inline(parameter.get('description', ''))}</td></tr>")
    return ("<h4>Parameters</h4>\n<table><thead><tr><th>Name</th><th>In</th><th></th><th>Schema</th><th>Description</th></tr></thead>"
            "<tbody>\n" + "\n".join(rows) + "\n</tbody></table>")


def content_list(spec, content):
    items = []
    for media, entry in (content or {}).items():
        schema = (entry or {}).get("schema")
        items.append(f"<code>{esc(media)}</code>" + (": " + schema_summary(spec, schema) if schema else ""))
    return "; ".join(items)


def request_body(spec, raw):
    if not raw:
        return ""
    body = spec.resolve(raw)
    required = "required" if body.get("required") else "optional"
    return (f"<h4>Request body ({required})</h4>\n<p>{content_list(spec, body.get('content'))}</p>"
            + prose(body.get("description", "")))


def responses_table(spec, responses):
    rows = []
    for status, raw in sorted((responses or {}).items(), key=lambda item: (str(item[0]) == "default", str(item[0]))):
        response = spec.resolve(raw)
        headers = ", ".join(f"<code>{esc(name)}</code>" for name in (response.get("headers") or {}))
        rows.append(f"<tr><td><code>{esc(status)}</code></td><td>{inline(response.get('description', ''))}</td>"
                    f"<td>{content_list(spec, response.get('content')) or 'no body'}</td><td>{headers}</td></tr>")
    return ("<h4>Responses</h4>\n<table><thead><tr><th>Status</th><th>Description</th><th>Content</th><th>Headers</th></tr></thead>"
            "<tbody>\n" + "\n".join(rows) + "\n</tbody></table>")


def operations_by_tag(document):
    tags = [tag["name"] for tag in document.get("tags", [])]
    groups = {tag: [] for tag in tags}
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            tag = (operation.get("tags") or ["other"])[0]
            groups.setdefault(tag, []).append((method, path, item, operation))
    return groups


def schema_section(spec, name, schema):
    schema = schema if isinstance(schema, dict) else {}
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    parts = [f'<section class="schema" id="schema-{esc(name)}">', f"<h3>{esc(name)}</h3>", prose(schema.get("description", ""))]
    if properties:
        rows = [f"<tr><td><code>{esc(key)}</code></td><td>{'required' if key in required else 'optional'}</td>"
                f"<td>{schema_summary(spec, value)}</td><td>{inline((value or {}).get('description', ''))}</td></tr>"
                for key, value in properties.items()]
        parts.append("<table><thead><tr><th>Member</th><th></th><th>Schema</th><th>Description</th></tr></thead><tbody>\n"
                     + "\n".join(rows) + "\n</tbody></table>")
    else:
        parts.append(f"<p>{schema_summary(spec, {key: value for key, value in schema.items() if key != 'description'}) or 'any value'}</p>")
    parts.append("</section>")
    return "\n".join(part for part in parts if part)


STYLE = """body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:0 auto;padding:1rem 2rem;color:#1d1d1f}
code{font:13px ui-monospace,monospace;background:#f2f2f4;padding:0 .2em;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f7f7f9}.operation{border-top:2px solid #ccc;margin-top:2rem}.method{font-weight:bold;text-transform:uppercase}
nav ul{columns:2}a{color:#0645ad}"""


def render(document, digest):
    spec = Spec(document)
    info = document.get("info", {})
    title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
    groups = operations_by_tag(document)
    descriptions = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}
    out = ["<!DOCTYPE html>", f"<!-- generated by scripts/build-api-docs.py from openapi.yaml sha256:{digest}; do not edit -->",
           '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{esc(title)} reference</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
           f"<h1>{esc(title)}</h1>", prose(info.get("summary", "")),
           '<p>The machine-readable contract: <a href="/openapi.yaml"><code>/openapi.yaml</code></a> (OpenAPI '
           f"{esc(document.get('openapi', ''))}). This page is generated from it.</p>",
           prose(info.get("description", "")), "<nav><h2>Operations</h2>"]
    for tag, operations in groups.items():
        if not operations:
            continue
        out.append(f'<h3><a href="#tag-{esc(tag)}">{esc(tag)}</a></h3><ul>')
        for method, path, _, operation in operations:
            op_id = operation.get("operationId", f"{method}-{path}")
            out.append(f'<li><a href="#{esc(op_id)}"><span class="method">{esc(method)}</span> <code>{esc(path)}</code></a> '
                       f"{inline(operation.get('summary', ''))}</li>")
        out.append("</ul>")
    out.append('<p><a href="#schemas">Schemas</a></p></nav>')
    for tag, operations in groups.items():
        if not operations:
            continue
        out.append(f'<section id="tag-{esc(tag)}"><h2>{esc(tag)}</h2>')
        out.append(prose(descriptions.get(tag, "")))
        for method, path, item, operation in operations:
            op_id = operation.get("operationId", f"{method}-{path}")
            security = operation.get("security", document.get("security"))
            auth = "Bearer access token" if security else "none (public)"
            out.append(f'<section class="operation" id="{esc(op_id)}">')
            out.append(f'<h3><span class="method">{esc(method)}</span> <code>{esc(path)}</code> '
                       f'<a href="#{esc(op_id)}">#</a></h3>')
            out.append(f"<p><strong>{inline(operation.get('summary', ''))}</strong> "
                       f"· operationId <code>{esc(op_id)}</code> · authentication: {auth}</p>")
            out.append(prose(operation.get("description", "")))
            out.append(parameters_table(spec, (item.get("parameters") or []) + (operation.get("parameters") or [])))
            out.append(request_body(spec, operation.get("requestBody")))
            out.append(responses_table(spec, operation.get("responses")))
            out.append("</section>")
        out.append("</section>")
    out.append('<section id="schemas"><h2>Schemas</h2>')
    for name, schema in (document.get("components", {}).get("schemas") or {}).items():
        out.append(schema_section(spec, name, schema))
    out.append("</section>")
    out.append("</body>\n</html>\n")
    return "\n".join(part for part in out if part)


def self_test():
    """Spec text reaches the page escaped: no element, attribute or entity of its own survives."""
    hostile = '<script>alert(1)</script>"&\''
    document = {"openapi": "3.1.0", "info": {"title": hostile, "version": "1", "description": f"- `{hostile}`"},
                "tags": [{"name": "t", "description": hostile}],
                "paths": {"/x/" + hostile: {"get": {"operationId": "op" + hostile, "tags": ["t"], "summary": hostile,
                          "parameters": [{"name": hostile, "in": "query", "schema": {"type": "string", "pattern": hostile}}],
                          "responses": {"200": {"description": hostile, "content": {"application/json": {"schema": {"enum": [hostile]}}}}}}}},
                "components": {"schemas": {"S": {"type": "object", "properties": {hostile: {"description": hostile}}}}}}
    page = render(document, "0" * 64)
    assert "<script" not in page and "alert(1)</" not in page, "spec text must be escaped"
    assert page.count("&lt;script&gt;") >= 8, "the hostile text is shown, escaped"
    assert 'id="op&lt;script&gt;' in page, "anchors are escaped too"
    print("build-api-docs: self-test passed")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "openapi.yaml")
    target = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/api.html")
    raw = source.read_bytes()
    document = yaml.safe_load(raw)
    target.write_text(render(document, hashlib.sha256(raw).hexdigest()), encoding="utf-8")


if __name__ == "__main__":
    main()
