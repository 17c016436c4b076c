"""Checks the links schemathesis's stateful phase will follow after a POST that creates something.

schemathesis infers links between operations from names and shapes (its "dependency analysis").
After a successful POST, its "created resource not found" check (ST302) treats a 404 from an
operation below the POST's path as a bug of ours, whatever value the link put in the path. An
inferred link that fills a path parameter from the wrong member (a batch item's generation id
as the batch's id) therefore fails the run at random, whenever the search happens to take it.

This script injects the inferred links the way schemathesis 4 does and fails when a POST's link
to an operation below its own path takes a path parameter from anything but the created
resource's `id` (`$response.body#/id`). The cure is an explicit link in openapi.yaml: it
replaces the inferred one for the same target and parameter.

Usage: check-links.py openapi.yaml       (run with the test venv's python, which has schemathesis)
       check-links.py --self-test        (shows, on a small spec, that a wrong link is caught)
"""
import json
import sys
import tempfile

import schemathesis

CREATED_ID = "$response.body#/id"


def target_path(link, paths):
    """The path of the operation a link points at, by operationRef or operationId."""
    reference = link.get("operationRef")
    if reference:
        return reference.removeprefix("#/paths/").rsplit("/", 1)[0].replace("~1", "/").replace("~0", "~")
    operation_id = link.get("operationId")
    for path, item in paths.items():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return path
    return None


def wrong_links(spec_path):
    schema = schemathesis.openapi.from_path(spec_path)
    schema.analysis.inject_links()
    paths = schema.raw_schema["paths"]
    found = []
    for path, item in paths.items():
        post = item.get("post")
        if not isinstance(post, dict):
            continue
        for status, response in post.get("responses", {}).items():
            if not str(status).startswith("2"):
                continue
            for name, link in (response.get("links") or {}).items():
                target = target_path(link, paths)
                if target is None or target == path or not target.startswith(path.rstrip("/") + "/"):
                    continue
                for parameter, expression in (link.get("parameters") or {}).items():
                    is_path = parameter.startswith("path.") or "." not in parameter
                    if is_path and expression != CREATED_ID:
                        found.append(f"POST {path} {status} -> {target} ({name}): {parameter} = {expression}")
    return found


SELF_TEST_SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "links self-test", "version": "1"},
    "paths": {
        "/things": {"post": {"operationId": "createThing", "responses": {"201": {
            "description": "created",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
            "links": {"GetThing": {"operationId": "getThing", "parameters": {"id": "$response.body#/parts/0/id"}}},
        }}}},
        "/things/{id}": {"get": {"operationId": "getThing",
                                 "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                                 "responses": {"200": {"description": "the thing",
                                                       "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}}},
    },
    "components": {"schemas": {"Thing": {"type": "object", "properties": {
        "id": {"type": "string"},
        "parts": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}}}},
    }}}},
}


def self_test():
    with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
        json.dump(SELF_TEST_SPEC, handle)
        handle.flush()
        found = wrong_links(handle.name)
        if not any("/things/{id}" in line and "parts/0/id" in line for line in found):
            sys.exit(f"check-links self-test: the wrong link was not reported (found {found})")
        SELF_TEST_SPEC["paths"]["/things"]["post"]["responses"]["201"]["links"]["GetThing"]["parameters"]["id"] = CREATED_ID
        handle.seek(0)
        handle.truncate()
        json.dump(SELF_TEST_SPEC, handle)
        handle.flush()
        found = wrong_links(handle.name)
        if found:
            sys.exit(f"check-links self-test: a right link was reported: {found}")
    print("check-links: self-test passed")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    found = wrong_links(sys.argv[1])
    if found:
        print("links after a POST that fill a path parameter from something other than the created resource's id;", file=sys.stderr)
        print("schemathesis's stateful phase would report the correct 404 as ST302. Add an explicit link:", file=sys.stderr)
        for line in found:
            print("  " + line, file=sys.stderr)
        sys.exit(1)
    print("check-links: every link after a creating POST names the created resource")


if __name__ == "__main__":
    main()
