"""Simplified Chinese ships with the foundation: the compiled catalogue matches the .po and the
foundation's pages are translated."""
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LC = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
FOUNDATION_SOURCES = ("portal/", "templates/base.html", "templates/portal/", "templates/registration/")


def _po_entries():
    """(msgid, msgstr, references) of each singular entry of the .po."""
    text = (LC / "django.po").read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        refs = " ".join(re.findall(r"(?m)^#: (.*)$", block))
        msgid = re.search(r'(?m)^msgid ((?:".*"\n?)+)', block + "\n")
        msgstr = re.search(r'(?m)^msgstr ((?:".*"\n?)+)', block + "\n")
        if not msgid or not msgstr or "msgid_plural" in block or block.lstrip().startswith("#~"):
            continue
        join = lambda m: "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))).replace('\\"', '"').replace("\\n", "\n")  # noqa: E731
        fuzzy = re.search(r"(?m)^#,.*\bfuzzy\b", block)  # msgfmt leaves fuzzy ones out
        yield join(msgid), "" if fuzzy else join(msgstr), refs


def test_every_foundation_string_is_translated():
    missing = [msgid for msgid, msgstr, refs in _po_entries()
               if msgid and not msgstr and any(src in refs for src in FOUNDATION_SOURCES)
               and "portal/iotvideo" not in refs]
    assert missing == []


def test_the_compiled_catalogue_is_up_to_date_with_the_po():
    with open(LC / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [msgid for msgid, msgstr, _refs in _po_entries()
             if msgid and msgstr and compiled.gettext(msgid) != msgstr]
    assert stale == [], "run: python manage.py compilemessages -l zh_Hans"


def test_navigation_words_in_chinese():
    with translation.override("zh-hans"):
        assert translation.gettext("Audit log") == "审计日志"
        assert translation.gettext("Cameras") == "摄像头"


@pytest.mark.django_db
def test_a_chinese_browser_gets_chinese_pages(client_for, admin_user):
    body = client_for(admin_user).get("/settings/members/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "成员" in body and "邀请成员" in body and "审计日志" in body
