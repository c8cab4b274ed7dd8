"""HTTP errors werkzeug raises (404, 405, 413, ...) in the user's language:
a Chinese page for browsers, the JSON error shape for API clients."""

from __future__ import annotations

import pytest

from webmap import errors

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_unknown_page_is_a_chinese_404_page(client):
    response = client.get("/no/such/page", headers=BROWSER)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "出错了（404）" in html and "页面不存在 / not found" in html
    assert "The requested URL was not found" not in html  # werkzeug's English


def test_wrong_method_is_a_chinese_405_page_that_keeps_allow(client):
    response = client.post("/map/coverage", headers=BROWSER)
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert "不支持此请求方法" in response.get_data(as_text=True)


def test_unknown_api_path_is_a_json_404_in_chinese(client):
    response = client.get("/api/nothing-here", headers=BROWSER)
    assert response.status_code == 404 and response.is_json
    assert response.json == {"error": "not_found", "message": "页面不存在 / not found"}


def test_wrong_method_on_the_api_is_a_json_405(client):
    response = client.delete("/api/lookup")
    assert response.status_code == 405 and response.is_json
    assert response.json["error"] == "method_not_allowed"
    assert response.json["message"].startswith("不支持此请求方法 / method not allowed")
    allowed = set(response.headers["Allow"].split(", "))
    assert allowed >= {"GET", "POST"} and set(response.json["details"]["allowed"]) == (
        allowed
    )


def test_a_json_client_gets_json_anywhere(client):
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_too_large_a_body_is_a_chinese_413(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        "/api/lookup", data=b"[" + b" " * limit + b"]", content_type="application/json"
    )
    assert response.status_code == 413
    # Signed in by the session, the CSRF check reads the body first and says
    # how large it may be; an API client with a token gets werkzeug's 413.
    assert "太大" in response.json["message"]
    assert response.json["error"] == "payload_too_large"


@pytest.mark.parametrize("status", sorted(errors.HTTP_MESSAGES))
def test_every_message_is_chinese_then_english(status):
    chinese, english = errors.HTTP_MESSAGES[status].split(" / ")
    assert all(not c.isascii() for c in chinese[:2]) and english.isascii()
