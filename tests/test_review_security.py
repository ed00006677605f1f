"""Attacks on the review page that once got through (issue 14, items 11-14), each reproduced and refused.

11 an open redirect after signing in; 12 server errors (500) from ids and form fields out of range;
13 weak access tokens on a page other computers can reach, and an address printed that they cannot use;
14 an unknown --host reported as a busy port.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from test_review import FORM, Built, _csrf, build_ledger

from pipeline.errors import UsageError
from pipeline.form.definition import FormRegistry
from pipeline.ledger import queries as Q
from pipeline.ledger.store import Ledger
from pipeline.options import ReviewOptions
from pipeline.review.app import create_app, serve
from pipeline.review.safety import local_path

TOKEN = "Correct-Horse-Battery-9x"  # common words, but enough else to be strong


@pytest.fixture
def built(ledger_url: str, registry: FormRegistry) -> Built:
    """On both backends, like the review tests."""
    return build_ledger(ledger_url, registry, copies=1)


def _client(built: Built, **kw: Any) -> FlaskClient:
    app = create_app(ReviewOptions(db=built.db, open_browser=False, **kw))
    app.config["TESTING"] = True
    return app.test_client()


# --- 11: only local redirects ---------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0a/evil.example", "/%0d%0aSet-Cookie:%20x=1",
                                    "/%5c/evil.example", "//evil.example", "/%20/evil.example",
                                    "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_to_another_site(built: Built, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    monkeypatch.setattr("pipeline.constants.REVIEW_WRONG_TOKEN_DELAY_S", 0)
    client = _client(built, host="0.0.0.0", token=TOKEN)
    resp = client.post(f"/login?next={target}", data={"csrf_token": _csrf(client, "/login"), "token": TOKEN})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    location = resp.headers["Location"]
    assert location == "/", location  # not the target: home instead
    assert client.get("/history").status_code == 200  # signed in all the same


def test_login_still_returns_to_a_local_page(built: Built) -> None:
    client = _client(built, host="0.0.0.0", token=TOKEN)
    resp = client.post("/login?next=/answers%3Fform%3Dx", data={"csrf_token": _csrf(client, "/login"),
                                                               "token": TOKEN})
    assert resp.headers["Location"] == "/answers?form=x"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/x", "/a b", "/\x7f", "//x", "/\\x", "x", ""])
def test_local_path_refuses_what_a_browser_could_read_as_another_host(target: str) -> None:
    assert local_path(target) is None


# --- 12: bad ids are 404, bad form fields 400, never 500 -------------------------------------------

@pytest.mark.parametrize("url", ["/image/99999999999999999999999", "/page/99999999999999999999999",
                                 "/answer/99999999999999999999999/S01", "/comment/18446744073709551616/C1"])
def test_ids_too_large_for_the_ledger_are_not_found(client_factory: Any, url: str) -> None:
    client = client_factory()
    assert client.get(url).status_code == 404


@pytest.fixture
def client_factory(built: Built) -> Any:
    return lambda: _client(built)


@pytest.mark.parametrize(("field", "value"), [("page", "²"), ("page", "٣"), ("page", "9" * 40),
                                              ("form", f"{FORM}@²"), ("form", f"{FORM}@{'9' * 40}")])
def test_odd_numbers_in_a_page_assignment_are_a_form_error(built: Built, field: str, value: str) -> None:
    client = _client(built)
    with Ledger(built.db, readonly=True) as led:
        stray = next(q for q in Q.page_questions(led) if q.status == "not_form")
        serial = Q.returned_copies(led, FORM)[0].serial
    data = {"action": "assign", "form": f"{FORM}@1", "serial": serial, "page": "1", field: value}
    resp = client.post(f"/page/{stray.page_id}", data={"csrf_token": _csrf(client, f"/page/{stray.page_id}"), **data})
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert re.search(r"page number|Choose which form", resp.get_data(as_text=True))


# --- 13: tokens that can be guessed; an address others can use ----------------------------------

@pytest.mark.parametrize("token", [" " * 12, "a" * 12, "abababababab", "123412341234", " " + "x7Qp2mVb9KtL",
                                   "short", "correct-horse-battery", "Password123456", "letmein-letmein"])
def test_weak_tokens_are_refused_for_a_public_bind(built: Built, token: str) -> None:
    with pytest.raises(UsageError) as refused:
        ReviewOptions(db=built.db, host="0.0.0.0", token=token, open_browser=False)
    assert "--token " in str(refused.value)  # the advice offers a fresh random token


def test_without_a_token_a_fresh_one_is_offered(built: Built) -> None:
    with pytest.raises(UsageError) as refused:
        ReviewOptions(db=built.db, host="0.0.0.0", open_browser=False)
    offered = re.search(r"--token (\S+)", str(refused.value))
    assert offered
    ReviewOptions(db=built.db, host="0.0.0.0", token=offered.group(1), open_browser=False)  # and it is accepted


class _Started(Exception):
    pass


def _serve_once(options: ReviewOptions) -> str:
    """Start the review page, return the URL it printed, stop it before it serves anything."""
    got: dict[str, str] = {}

    def ready(url: str) -> None:
        got["url"] = url
        raise _Started

    with pytest.raises(_Started):
        serve(options, ready=ready)
    return got["url"]


def test_public_bind_prints_an_address_other_computers_can_use(built: Built, capsys: pytest.CaptureFixture[str]
                                                               ) -> None:
    url = _serve_once(ReviewOptions(db=built.db, host="0.0.0.0", port=0, token=TOKEN, open_browser=False))
    assert "0.0.0.0" not in url and re.fullmatch(r"http://[^/]+:\d+/", url)
    err = capsys.readouterr().err
    assert f"Review page: {url}" in err and "http://127.0.0.1:" in err


# --- 14: an unknown host is not a busy port --------------------------------------------------------

def test_an_unknown_host_is_named_as_such(built: Built) -> None:
    options = ReviewOptions(db=built.db, host="no-such-host.invalid", port=0, token=TOKEN, open_browser=False)
    with pytest.raises(UsageError) as refused:
        serve(options)
    text = str(refused.value)
    assert "no such host name" in text and "in use" not in text
