"""The portal's pages in Japanese: with the catalogue compiled and Japanese active, no English
sentence, label or button of the project's own templates and messages is left on the main pages.

Each English msgid of the catalogue is looked for, word for word, in what the page shows: its
text and the attributes read aloud or shown in dialogs. Values (names, addresses, codes, commands,
role badges, Activity targets) are taken out first. Japanese is made active as a Japanese browser
makes it; English stays the portal's default.
"""

import ast
import html
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

from accounts.sessions import AUTHENTICATED_AT
from credentials import tab
from groups.models import Role
from tests.conftest import make_api_key, make_group, make_member, make_oauth_client, make_user

LOCALE = Path(settings.BASE_DIR) / "locale"
CATALOGUE = LOCALE / "ja" / "LC_MESSAGES" / "django.mo"

# Kept in English on purpose (shared ja-terms): product names and the OAuth credential fields.
KEPT_IN_ENGLISH = ("Client ID", "Client Secret", "OAuth", "Swagger UI", "curl")
# The attributes a person hears or sees: screen readers, tooltips, the confirmation dialogs.
SPOKEN = ("aria-label", "title", "data-title", "data-text", "data-verb", "data-label", "data-hint-label")
# Elements whose text is a value, not the template's words.
VALUES = re.compile(
    r"<(code|pre|script|style)\b[^>]*>.*?</\1>|<span class=\"(?:target|role [^\"]*)\"[^>]*>.*?</span>",
    re.DOTALL,
)
# Never translated: addresses, HTTP methods, header names.
CODE = re.compile(r"/\S*|\b(?:POST|GET|PATCH)\b|X-[\w-]+")
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}|<[^>]+>")


@pytest.fixture(scope="session")
def catalogue():
    """The Japanese catalogue compiled into the worktree's locale directory (never committed)."""
    if shutil.which("msgfmt") is None:
        print("\nJapanese pages not checked: GNU msgfmt is missing, so the catalogue cannot be compiled.")
        pytest.skip("GNU msgfmt is missing: the Japanese catalogue cannot be compiled")
    call_command("compilemessages", locale=["ja"], verbosity=0, ignore_patterns=[".venv/*"])
    return CATALOGUE


def _english_msgids(po):
    """Every msgid and msgid_plural of the .po file, continuation lines joined."""
    texts, current = [], None
    for line in po.read_text(encoding="utf-8").splitlines():
        if line.startswith(("msgid ", "msgid_plural ")):
            current = [ast.literal_eval(line.split(" ", 1)[1])]
            texts.append(current)
        elif line.startswith('"') and current is not None:
            current.append(ast.literal_eval(line))
        else:
            current = None
    return ["".join(parts) for parts in texts if "".join(parts)]


@pytest.fixture(scope="session")
def english_fragments(catalogue):
    """Each msgid's fixed text between its placeholders and tags, where it has words."""
    fragments = set()
    for msgid in _english_msgids(catalogue.with_suffix(".po")):
        for part in PLACEHOLDER.split(msgid):
            for name in KEPT_IN_ENGLISH:
                part = part.replace(name, " ")
            part = CODE.sub(" ", part).strip(" .,:;()?")
            if re.search(r"[A-Za-z]{2,}", part) and part not in ("UTC", "API", "ID"):
                fragments.add(part)
    return fragments


@pytest.fixture
def japanese(catalogue):
    """Japanese active, as LocaleMiddleware will make it for a Japanese browser. Django picks its
    translation functions once by USE_I18N, so they are forgotten on the way in and out."""
    translation._trans.__dict__.clear()
    try:
        with (
            override_settings(USE_I18N=True, LANGUAGE_CODE="ja", LOCALE_PATHS=[str(LOCALE)]),
            translation.override("ja"),
        ):
            yield
    finally:
        translation._trans.__dict__.clear()


def _signed_in(user):
    client = Client()
    client.force_login(user)
    session = client.session
    session[AUTHENTICATED_AT] = time.time()  # Show and Create ask for no password again
    session.save()
    return client


def _shown(response):
    """What the page shows and says, its <title> and layout included: its text and spoken
    attributes, values taken out."""
    body = VALUES.sub(" ", response.content.decode())
    spoken = re.findall(r"\s(?:" + "|".join(SPOKEN) + r")=\"([^\"]*)\"", body)
    text = re.sub(r"<[^>]+>", " ", body)
    return " ".join(html.unescape(piece) for piece in [text, *spoken])


def _english_left(response, fragments, values=()):
    shown = _shown(response)
    for value in values:
        shown = shown.replace(value, " ")
    return sorted(f for f in fragments if re.search(r"(?<![\w-])" + re.escape(f) + r"(?![\w-])", shown))


@pytest.fixture
def payments(db):
    group = make_group("Payments")
    owner = make_member(group, Role.OWNER, username="hanako")
    make_api_key(group, "Billing app", created_by=owner)
    make_oauth_client(group, "Checkout", created_by=owner)
    return group, owner


VALUES_SHOWN = ("Payments", "payments", "Billing app", "Checkout", "hanako", "viewer-payments")


@pytest.mark.parametrize(
    "name, japanese_words",
    [
        ("groups:list", ["グループ一覧"]),
        (
            "credentials:auth-info",
            ["グループ詳細", "認証情報", "APIキー認証情報", "OAuth認証情報", "新規作成", "再発行"],
        ),
        ("groups:members", ["メンバー", "オーナー"]),
        ("groups:activity", ["操作履歴", "ダウンロード"]),
        ("credentials:create-api-key", ["APIキー認証情報の新規作成", "名前"]),
        ("credentials:create-oauth-client", ["OAuthクライアントの新規作成"]),
    ],
)
def test_group_pages_are_all_in_japanese(japanese, payments, english_fragments, name, japanese_words):
    group, owner = payments
    args = [] if name == "groups:list" else [group.slug]
    response = _signed_in(owner).get(reverse(name, args=args))
    assert response.status_code == 200
    text = _shown(response)
    for words in japanese_words:
        assert words in text
    assert _english_left(response, english_fragments, VALUES_SHOWN) == []


def test_the_tab_names_both_keys_and_the_client_secret_in_japanese(japanese, payments):
    group, owner = payments
    text = _shown(_signed_in(owner).get(reverse("credentials:auth-info", args=[group.slug])))
    assert "Primaryキー" in text and "Secondaryキー" in text
    assert "Client Secret" in text  # kept in English
    assert "API認証 API リファレンス" in text


def test_sign_in_and_password_pages_are_in_japanese(japanese, db, english_fragments):
    sign_in = Client().get(reverse("login"))
    assert "ログイン" in _shown(sign_in)
    assert _english_left(sign_in, english_fragments) == []
    user = make_user("hanako")
    client = Client()
    client.force_login(user)
    confirm = client.get(reverse("reauthenticate"))
    assert "パスワードの確認" in _shown(confirm)
    assert _english_left(confirm, english_fragments, ["hanako"]) == []


def test_not_found_page_is_in_japanese(japanese, payments, english_fragments):
    _, owner = payments
    response = _signed_in(owner).get("/groups/no-such-group/", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "ページが見つかりません" in _shown(response)
    assert _english_left(response, english_fragments, VALUES_SHOWN) == []


def test_refusal_page_is_in_japanese(japanese, payments, english_fragments):
    group, _ = payments
    viewer = make_member(group, Role.VIEWER)
    path = reverse("credentials:create-api-key", args=[group.slug])
    response = _signed_in(viewer).get(path, headers={"accept": "text/html"})
    assert response.status_code == 403
    text = _shown(response)
    assert "許可されていません" in text and "閲覧者" in text
    assert _english_left(response, english_fragments, VALUES_SHOWN) == []


def test_english_stays_the_default(payments):
    group, owner = payments
    text = _shown(_signed_in(owner).get(reverse("credentials:auth-info", args=[group.slug])))
    assert "API Key Information" in text and "グループ詳細" not in text


def test_the_check_finds_the_english_of_an_english_page(catalogue, payments, english_fragments):
    group, owner = payments
    response = _signed_in(owner).get(reverse("credentials:auth-info", args=[group.slug]))
    left = _english_left(response, english_fragments, VALUES_SHOWN)
    assert {"API Key Information", "Regenerate", "Quick start", "Not used yet"} <= set(left)


def test_the_chart_summary_reads_as_japanese(japanese):
    first = datetime(2026, 11, 22, 12, tzinfo=UTC)
    series = [("Primaryキー", "bar-primary", [(first, 4)]), ("Secondaryキー", "bar-secondary", [(first, 51)])]
    label = tab._chart(first, series, "リクエスト数")["label"]
    assert label == "過去7日間の1時間ごとのリクエスト数：合計 55（Primaryキー 4、Secondaryキー 51）"
