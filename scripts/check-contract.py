"""Checks the responses the test suite recorded against openapi.yaml, in both directions.

Usage: check-contract.py OPENAPI.json RECORD.jsonl   (run with the test venv's Python: jsonschema)
       check-contract.py --self-test              (shows that each kind of mismatch is found)

RECORD.jsonl holds one JSON object per response the in-process test servers sent (written when
CONTRACT_RECORD is set; Tests/APIServerTests/ContractRecorder.swift): method, path, route
template, status, content type, headers and body. For every response that belongs to a documented
operation it checks that

  - the status is documented for that operation (explicitly, or through `default` for the few
    statuses any operation may answer, listed in ANSWERED_BY_ANY_OPERATION),
  - the content type is one the documented response lists (and a response documented without
    content has an empty body),
  - the body validates against the documented schema (JSON Schema draft 2020-12, as OpenAPI 3.1
    uses it, with formats such as date-time and uuid checked and every `$ref` resolved in the spec),
    with one tightening: an object schema that lists `properties` and says nothing about
    `additionalProperties` is read as closed, so a field the server sends but the spec does not
    name is a mismatch too (say `additionalProperties: true` where a map is meant to be open),
  - every header the documented response lists is sent (unless it says `required: false`), and an
    integer header (`Retry-After`) holds an integer.

Then, the other way round, every status an operation documents explicitly must have been produced
by at least one test, unless EXEMPT says why it cannot be. Everything is read from the spec, so a
new operation or status is checked without anyone editing this file.

Exits 1 with a list of mismatches, 0 with one summary line.
"""
import json
import re
import sys
from collections import defaultdict

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
SPEC_URI = "urn:openapi"

# Statuses the HTTP layer may give any operation, documented once in the spec's description and
# covered by each operation's `default` response rather than listed per operation.
ANSWERED_BY_ANY_OPERATION = {
    400: "a query parameter with a NUL or bytes that are not UTF-8 (bad_query), answered before routing",
    413: "request body over HTTP_MAX_BODY_BYTES, answered before routing",
    500: "an unexpected error (internal_error)",
    503: "the database pool timed out (database_unavailable)",
}

def answered_by_transport(record):
    """A 400 counts as the transport's only when it is `bad_query`; an operation's own 400s are listed."""
    if record["status"] != 400:
        return True
    try:
        return json.loads(record.get("body") or "{}").get("code") == "bad_query"
    except (ValueError, AttributeError):
        return False


# (operationId, status) pairs documented but not produced by any test, each with the reason it
# cannot be produced there. Keep this short: a missing test belongs in the suite, not here.
EXEMPT = {
    ("createChatCompletion", 504): "the wait before a chat generation is canceled is 600 s",
}


def pointer_escape(segment):
    return segment.replace("~", "~0").replace("/", "~1")


def closed(node):
    """A copy of a spec node in which object schemas that list properties admit no others."""
    if isinstance(node, list):
        return [closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: closed(value) for key, value in node.items()}
    if copy.get("type") == "object" and isinstance(copy.get("properties"), dict) and "additionalProperties" not in copy:
        copy["additionalProperties"] = False
    return copy


class Spec:
    def __init__(self, document):
        document = closed(document)
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(SPEC_URI, resource)
        self.format_checker = FormatChecker()
        self.validators = {}
        self.operations = {}  # (METHOD, template) -> operation
        self.matchers = []  # (METHOD, compiled regex, template)
        for template, item in document.get("paths", {}).items():
            for method in METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                key = (method.upper(), template)
                self.operations[key] = {
                    "id": operation.get("operationId", f"{method.upper()} {template}"),
                    "pointer": f"/paths/{pointer_escape(template)}/{method}",
                    "responses": operation.get("responses", {}),
                }
                pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
                self.matchers.append((method.upper(), re.compile(pattern), template))

    def resolve(self, pointer, node):
        """Follows `$ref`s in the spec; returns the JSON pointer and the object reached."""
        hops = 0
        while isinstance(node, dict) and "$ref" in node and hops < 32:
            reference = node["$ref"]
            if not reference.startswith("#/"):
                raise ValueError(f"unsupported $ref {reference}")
            pointer = reference[1:]
            node = self.document
            for part in reference[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            hops += 1
        return pointer, node

    def operation_for(self, record):
        """The documented operation a recorded response belongs to, or None."""
        method, route = record["method"], record["route"]
        if (method, route) in self.operations:
            return self.operations[(method, route)]
        # A 405 belongs to no operation: the path exists, the method does not (a literal path such
        # as /v1/generations/batch is not an id of /v1/generations/{id}).
        if route in ("unmatched", "preflight") and method != "OPTIONS" and record["status"] != 405:
            # Answered before routing (413): attribute it by matching the path.
            for candidate_method, pattern, template in self.matchers:
                if candidate_method == method and pattern.match(record["path"]):
                    return self.operations[(method, template)]
        return None

    def validator(self, schema_pointer):
        if schema_pointer not in self.validators:
            self.validators[schema_pointer] = Draft202012Validator(
                {"$ref": f"{SPEC_URI}#{schema_pointer}"}, registry=self.registry, format_checker=self.format_checker)
        return self.validators[schema_pointer]


def media_type(content_type):
    return (content_type or "").split(";")[0].strip().lower()


def matching_media(media, content):
    """The documented media range a response's type falls under: exact first, then `type/*`, `*/*`."""
    for candidate in (media, media.split("/")[0] + "/*", "*/*"):
        if candidate in content:
            return candidate
    return None


def is_json(media):
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def check(spec, records):
    problems = defaultdict(list)  # message -> examples
    observed = defaultdict(set)  # operation id -> statuses
    checked = 0
    ignored = 0
    for record in records:
        operation = spec.operation_for(record)
        if operation is None:
            ignored += 1  # an unknown path, a 405, a preflight, or a route a test added
            continue
        checked += 1
        status = record["status"]
        observed[operation["id"]].add(status)
        where = f'{operation["id"]} {status}'
        responses = operation["responses"]
        if str(status) in responses:
            key = str(status)
        elif f"{status // 100}XX" in responses:
            key = f"{status // 100}XX"
        elif "default" in responses and status in ANSWERED_BY_ANY_OPERATION and answered_by_transport(record):
            key = "default"
        else:
            problems[f"{where}: status not documented (documented: {', '.join(sorted(responses))})"].append(
                f'{record["method"]} {record["path"]}: {(record.get("body") or "")[:300]}')
            continue
        pointer, response = spec.resolve(f'{operation["pointer"]}/responses/{key}', responses[key])
        sent = {name.lower(): value for name, value in (record.get("headers") or {}).items()}
        for name, header in (response.get("headers") or {}).items():
            _, header = spec.resolve("", header)
            value = sent.get(name.lower())
            if value is None:
                if header.get("required", True):
                    problems[f"{where}: documented header {name} not sent"].append(record["path"])
            elif (header.get("schema") or {}).get("type") == "integer" and not value.strip().lstrip("-").isdigit():
                problems[f"{where}: header {name} is not an integer: {value!r}"].append(record["path"])
        content = response.get("content") or {}
        media = media_type(record.get("content_type"))
        if not content:
            if record.get("body_bytes", 0) != 0:
                problems[f"{where}: documented without a body, answered {record.get('content_type')} "
                         f"({record.get('body_bytes')} bytes)"].append(record["path"])
            continue
        documented = matching_media(media, content)
        if documented is None:
            problems[f"{where}: content type {record.get('content_type')!r} not documented "
                     f"(documented: {', '.join(sorted(content))})"].append(record["path"])
            continue
        if not is_json(media) or "schema" not in content[documented]:
            continue
        body = record.get("body")
        try:
            value = json.loads(body) if body is not None else None
        except ValueError:
            value = None
        if value is None:
            problems[f"{where}: {media} body is not JSON"].append((body or "")[:300])
            continue
        schema_pointer = f"{pointer}/content/{pointer_escape(media)}/schema"
        for error in spec.validator(schema_pointer).iter_errors(value):
            location = "/".join(str(part) for part in error.absolute_path) or "(body)"
            problems[f"{where}: {location}: {error.message[:200]}"].append(
                f'{record["method"]} {record["path"]}: {(body or "")[:300]}')
            break
    return problems, observed, checked, ignored


def unexercised(spec, observed):
    missing = []
    for (method, template), operation in sorted(spec.operations.items(), key=lambda item: (item[0][1], item[0][0])):
        for key in sorted(operation["responses"]):
            if not key.isdigit():
                continue
            status = int(key)
            if status in observed[operation["id"]] or (operation["id"], status) in EXEMPT:
                continue
            missing.append(f"{operation['id']} ({method} {template}) {status}")
    return missing


def self_test():
    """The checker finds each kind of mismatch on a small spec (run by scripts/test.sh first)."""
    problem = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    spec = Spec({
        "paths": {"/things/{id}": {"get": {"operationId": "getThing", "responses": {
            "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
            "404": {"$ref": "#/components/responses/Problem"},
            "409": {"$ref": "#/components/responses/Problem"},
            "429": {"headers": {"Retry-After": {"schema": {"type": "integer"}}}, **problem},
            "default": {"$ref": "#/components/responses/Problem"}}},
            "delete": {"operationId": "deleteThing", "responses": {"204": {"description": "gone"}}}}},
        "components": {"responses": {"Problem": problem}, "schemas": {
            "Thing": {"type": "object", "required": ["id", "at"], "properties": {
                "id": {"type": "string", "format": "uuid"}, "at": {"type": "string", "format": "date-time"}}},
            "Problem": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}}}},
    })

    def record(method, status, body, content_type="application/json", route="/things/{id}", headers=None):
        text = json.dumps(body) if body is not None else ""
        return {"method": method, "path": "/things/1", "route": route, "status": status, "content_type": content_type,
                "body": text, "body_bytes": len(text), "headers": headers or {}}

    good = {"id": "0b7f3c1e-8d7a-4a51-9a43-2b9f4a7d5c10", "at": "2026-01-01T00:00:00Z"}
    records = [
        record("GET", 200, good),
        record("GET", 200, {"id": "not-a-uuid", "at": "2026-01-01T00:00:00Z"}),
        record("GET", 200, {"id": good["id"]}),
        record("GET", 200, dict(good, secret="x")),
        record("GET", 404, {"code": "not_found"}, "application/problem+json"),
        record("GET", 404, {"code": "not_found"}, "application/json"),
        record("GET", 418, {"code": "teapot"}, "application/problem+json"),
        record("GET", 500, {"code": "internal_error"}, "application/problem+json"),
        record("GET", 429, {"code": "slow_down"}, "application/problem+json", headers={"retry-after": "3"}),
        record("GET", 429, {"code": "slow_down"}, "application/problem+json", headers={"retry-after": "soon"}),
        record("GET", 429, {"code": "slow_down"}, "application/problem+json"),
        record("DELETE", 204, {"unexpected": True}),
        record("POST", 413, {"code": "payload_too_large"}, "application/problem+json", route="unmatched"),
        record("GET", 200, good, route="/probe"),
    ]
    problems, observed, checked, ignored = check(spec, records)
    messages = sorted(problems)
    expected = [
        "deleteThing 204: documented without a body",
        "getThing 200: (body): 'at' is a required property",
        "getThing 200: (body): Additional properties are not allowed ('secret' was unexpected)",
        "getThing 200: id: 'not-a-uuid' is not a 'uuid'",
        "getThing 404: content type 'application/json' not documented",
        "getThing 418: status not documented",
        "getThing 429: documented header Retry-After not sent",
        "getThing 429: header Retry-After is not an integer: 'soon'",
    ]
    assert len(messages) == len(expected) and all(m.startswith(e) for m, e in zip(messages, expected)), messages
    assert (checked, ignored) == (12, 2), (checked, ignored)
    assert unexercised(spec, observed) == ["getThing (GET /things/{id}) 409"], unexercised(spec, observed)
    print("contract: self-test passed")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as source:
        spec = Spec(json.load(source))
    with open(sys.argv[2], encoding="utf-8") as source:
        records = [json.loads(line) for line in source if line.strip()]
    if not records:
        print(f"contract: {sys.argv[2]} holds no responses (was CONTRACT_RECORD set for swift test?)", file=sys.stderr)
        return 1
    problems, observed, checked, ignored = check(spec, records)
    missing = unexercised(spec, observed)
    stale = sorted(f"{operation} {status}" for operation, status in EXEMPT
                   if status in observed[operation])
    documented = sum(1 for operation in spec.operations.values() for key in operation["responses"] if key.isdigit())
    exempt = sum(1 for operation in spec.operations.values() for key in operation["responses"]
                 if key.isdigit() and (operation["id"], int(key)) in EXEMPT)
    for message, examples in sorted(problems.items()):
        print(f"contract: {message}  [{len(examples)}x] e.g. {examples[0]}")
    for item in missing:
        print(f"contract: documented but no test produced it: {item}")
    for item in stale:
        print(f"contract: exempt but produced by a test, remove it from EXEMPT: {item}")
    summary = (f"contract: {checked} responses of {len(spec.operations)} operations checked ({ignored} outside the spec), "
               f"{documented - len(missing) - exempt}/{documented} documented statuses produced ({exempt} exempt), "
               f"{len(problems)} mismatches, {len(missing)} unexercised")
    print(summary)
    return 1 if problems or missing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
