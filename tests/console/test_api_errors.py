"""The console's JSON error shape and pagination, on a small app with the same handlers: every
failure (HTTP errors, validation, store errors, a crash) answers
``{"error": {"code", "message", "details"}}`` with the right status, and a crash never shows a
traceback."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel

from console.apikit import assert_error
from otshield.console.api.errors import ApiError, install_error_handlers
from otshield.console.api.pagination import MAX_PER_PAGE, Page, PageParams, page_params
from otshield.store.errors import Conflict, Invalid, NotFound, StoreError


class Body(BaseModel):
    n: int


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/items")
    def items(params: Annotated[PageParams, page_params]) -> Page[int]:
        data = list(range(1, 8))
        return Page.of(data[params.offset:params.offset + params.limit], len(data), params)

    @app.post("/body")
    def body(b: Body) -> int:
        return b.n

    @app.get("/raise/{what}")
    def boom(what: str) -> None:
        errors: dict[str, Exception] = {
            "api": ApiError(409, "taken", code="name_taken", details={"name": "x"}),
            "http": HTTPException(403, detail={"code": "csrf_failed", "message": "no token"}),
            "plain": HTTPException(418, detail="teapot"),
            "notfound": NotFound("no alert 9"),
            "conflict": Conflict("alert 9 is closed"),
            "invalid": Invalid("cannot sort by x"),
            "store": StoreError("db.sqlite: database is locked by /secret/path"),
            "bug": RuntimeError("SELECT password FROM users /home/secret"),
        }
        raise errors[what]

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(make_app(), raise_server_exceptions=False)


@pytest.mark.parametrize(("what", "status", "code", "message"), [
    ("api", 409, "name_taken", "taken"),
    ("http", 403, "csrf_failed", "no token"),
    ("plain", 418, "error", "teapot"),
    ("notfound", 404, "not_found", "no alert 9"),
    ("conflict", 409, "conflict", "alert 9 is closed"),
    ("invalid", 422, "invalid", "cannot sort by x"),
])
def test_error_shape(client: TestClient, what: str, status: int, code: str,
                     message: str) -> None:
    error = assert_error(client.get(f"/raise/{what}"), status, code)
    assert error["message"] == message
    if what == "api":
        assert error["details"] == {"name": "x"}


def test_crash_hides_everything(client: TestClient) -> None:
    for what, status in (("bug", 500), ("store", 503)):
        r = client.get(f"/raise/{what}")
        error = assert_error(r, status)
        assert "secret" not in r.text and "SELECT" not in r.text and "Traceback" not in r.text
        assert "reference" in error["message"]


def test_routing_errors(client: TestClient) -> None:
    assert_error(client.get("/nothing"), 404, "not_found")
    assert_error(client.put("/items"), 405, "method_not_allowed")


def test_validation(client: TestClient) -> None:
    error = assert_error(client.post("/body", json={"n": "seven"}), 422, "invalid")
    assert error["message"].startswith("n: ")
    assert error["details"][0]["loc"] == ["body", "n"]
    assert "input" not in error["details"][0]  # the echoed input is not sent back
    assert_error(client.post("/body", content=b"{", headers={"content-type":
                                                             "application/json"}), 422)
    assert_error(client.post("/body"), 422)


def test_pagination(client: TestClient) -> None:
    assert client.get("/items").json() == {"items": [1, 2, 3, 4, 5, 6, 7], "total": 7,
                                           "page": 1, "per_page": 50}
    assert client.get("/items", params={"per_page": 3, "page": 3}).json() == {
        "items": [7], "total": 7, "page": 3, "per_page": 3}
    assert client.get("/items", params={"per_page": 3, "page": 4}).json()["items"] == []
    assert client.get("/items", params={"per_page": MAX_PER_PAGE}).status_code == 200
    for bad in ({"per_page": MAX_PER_PAGE + 1}, {"per_page": 0}, {"page": 0},
                {"page": "x"}, {"page": 10**7}):
        assert_error(client.get("/items", params=bad), 422, "invalid")
