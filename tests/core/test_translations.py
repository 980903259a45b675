"""The Chinese catalog is complete, compiled, and used by the pages.

Chinese (zh-hans) is the platform's default language: every msgid in code and templates is
English, and ``locale/zh_Hans/LC_MESSAGES/django.po`` must give each one a Chinese msgstr.
After adding strings, run::

    .venv/bin/python manage.py makemessages -l zh_Hans -l en --no-obsolete \\
        --ignore=.venv --ignore=tests --ignore=bench
    # translate the new entries, drop their "#, fuzzy" flags, then
    .venv/bin/python manage.py compilemessages --ignore=.venv

The .mo file is compared with the .po by content, not by modification time: a fresh clone
gives both files the checkout time, so mtimes say nothing about whether it was recompiled.
"""

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
ZH_PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
ZH_MO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.mo"

PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[sdif]|%%")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    def label(self) -> str:
        ctx = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return f"line {self.line}: {ctx}{self.msgid!r}"


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), f"not a PO string: {text!r}"
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """A small PO reader: enough for the files makemessages writes (no obsolete entries kept)."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None  # which field continuation lines extend

    def finish():
        nonlocal current, target
        if current is not None:
            entries.append(current)
        current, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):  # obsolete entry: not part of the catalog
            continue
        if line.startswith("#"):
            if current is not None and target is not None:
                finish()  # comments start a new entry
            if line.startswith("#,"):
                current = current or Entry(line=number)
                current.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            else:
                current = current or Entry(line=number)
            continue
        current = current or Entry(line=number)
        if line.startswith('"'):
            assert target is not None, f"{path}:{number}: continuation line without a keyword"
            kind, index = target
            piece = _unquote(line)
            if kind == "msgstr":
                current.msgstr[index] += piece
            else:
                setattr(current, kind, getattr(current, kind) + piece)
            continue
        keyword, _, rest = line.partition(" ")
        match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if match:
            target = ("msgstr", int(match.group(1)))
            current.msgstr[target[1]] = _unquote(rest)
        elif keyword == "msgstr":
            target = ("msgstr", 0)
            current.msgstr[0] = _unquote(rest)
        elif keyword in ("msgid", "msgid_plural", "msgctxt"):
            if keyword == "msgid" and current.line == 0:
                current.line = number
            if keyword in ("msgid", "msgctxt") and target is not None and target[0] == "msgstr":
                finish()
                current = Entry(line=number)
            target = (keyword, 0)
            setattr(current, keyword, _unquote(rest))
        else:
            raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
    finish()
    return entries


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    assert ZH_PO.exists(), f"{ZH_PO} is missing: run makemessages -l zh_Hans"
    return parse_po(ZH_PO)


@pytest.fixture(scope="module")
def messages(po_entries) -> list[Entry]:
    entries = [e for e in po_entries if not e.is_header]
    assert len(entries) > 100, "the zh_Hans catalog looks empty"
    return entries


def test_header_declares_chinese_with_a_single_plural_form(po_entries):
    header = next(e for e in po_entries if e.is_header).msgstr[0]
    assert "Plural-Forms: nplurals=1; plural=0;" in header
    assert "charset=UTF-8" in header


def test_every_entry_is_translated(messages):
    untranslated = [e.label() for e in messages if not e.msgstr or any(not text.strip() for text in e.msgstr.values())]
    assert not untranslated, f"{len(untranslated)} untranslated zh_Hans entries:\n" + "\n".join(untranslated)


def test_no_entry_is_fuzzy(messages):
    fuzzy = [e.label() for e in messages if "fuzzy" in e.flags]
    assert not fuzzy, (
        f"{len(fuzzy)} fuzzy zh_Hans entries (msgmerge guesses; compilemessages skips them):\n" + "\n".join(fuzzy)
    )


def test_plural_entries_have_exactly_one_form(messages):
    wrong = [e.label() for e in messages if e.msgid_plural is not None and sorted(e.msgstr) != [0]]
    assert not wrong, "Chinese has one plural form, msgstr[0] only:\n" + "\n".join(wrong)


def test_translations_keep_the_placeholders(messages):
    wrong = []
    for e in messages:
        if "python-format" not in e.flags:
            continue
        singular = sorted(PLACEHOLDER.findall(e.msgid))
        allowed = set(singular) | set(PLACEHOLDER.findall(e.msgid_plural or ""))
        for text in e.msgstr.values():
            found = PLACEHOLDER.findall(text)
            # A plural msgstr[0] may use the placeholders of either English form.
            ok = set(found) <= allowed if e.msgid_plural is not None else sorted(found) == singular
            if not ok:
                wrong.append(f"{e.label()} -> {text!r}")
    assert not wrong, "placeholders changed:\n" + "\n".join(wrong)


def test_chinese_text_uses_full_width_punctuation(messages):
    """Chinese sentences end in 。，：？ rather than ASCII ., : ? (numbers and code excepted)."""
    han = re.compile(r"[\u4e00-\u9fff]")
    wrong = [
        f"{e.label()} -> {text!r}"
        for e in messages
        for text in e.msgstr.values()
        if re.search(r"[\u4e00-\u9fff][,:;?!]|[\u4e00-\u9fff]\.(\s|$)", text) and han.search(text)
    ]
    assert not wrong, "ASCII punctuation after Chinese text:\n" + "\n".join(wrong)


def test_compiled_catalog_matches_the_po_file(messages):
    assert ZH_MO.exists(), f"{ZH_MO} is missing: run compilemessages"
    with ZH_MO.open("rb") as fh:
        catalog = dict(gettext.GNUTranslations(fh)._catalog)  # the raw msgid -> msgstr table
    catalog.pop("", None)  # header

    expected: dict = {}
    for e in messages:
        key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            expected[key] = e.msgstr.get(0, "")
        else:
            for index, text in e.msgstr.items():
                expected[(key, index)] = text

    stale = sorted(str(k) for k in expected if catalog.get(k) != expected[k])
    extra = sorted(str(k) for k in catalog if k not in expected)
    assert not stale and not extra, (
        "locale/zh_Hans/LC_MESSAGES/django.mo is out of date: run compilemessages.\n"
        f"missing or different in the .mo: {stale[:20]}\nonly in the .mo: {extra[:20]}"
    )


def test_django_serves_every_translation_in_zh_hans(messages):
    """What the views get: LOCALE_PATHS wins over Django's and third-party catalogs."""
    wrong = []
    with translation.override("zh-hans"):
        for e in messages:
            if e.msgid_plural is None:
                got = translation.gettext(e.msgid) if e.msgctxt is None else translation.pgettext(e.msgctxt, e.msgid)
            else:
                got = (
                    translation.ngettext(e.msgid, e.msgid_plural, 2)
                    if e.msgctxt is None
                    else translation.npgettext(e.msgctxt, e.msgid, e.msgid_plural, 2)
                )
            if got != e.msgstr.get(0):
                wrong.append(f"{e.label()}: got {got!r}, want {e.msgstr.get(0)!r}")
    assert not wrong, f"{len(wrong)} strings do not translate as the .po says:\n" + "\n".join(wrong[:30])


def test_key_terms_use_the_marketplace_vocabulary():
    with translation.override("zh-hans"):
        assert translation.gettext("Cloud Marketplace") == "云商店"
        assert translation.gettext("Seller center") == "卖家中心"
        assert translation.gettext("Buyer center") == "买家中心"
        assert translation.gettext("Joint operation") == "联营"
        assert translation.gettext("Strict selection, self-operated") == "严选自营"
        assert translation.gettext("Credit settings") == "信控设置"
        assert translation.gettext("Purchased services") == "已购服务"
        assert translation.ngettext("%(n)s product", "%(n)s products", 3) % {"n": 3} == "共 3 个商品"
    with translation.override("en"):
        assert translation.gettext("Cloud Marketplace") == "Cloud Marketplace"


@pytest.mark.django_db
def test_home_page_is_chinese_by_default_and_ignores_accept_language(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    html = response.content.decode()
    assert "云商店" in html
    assert "搜索商品" in html


@pytest.mark.django_db
def test_home_page_in_chinese_with_the_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get("/").content.decode()
    assert "云商店" in html
    assert "Cloud Marketplace" not in html
    assert "Cloud software for every business" not in html


@pytest.mark.django_db
def test_home_page_in_english_with_the_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/")
    assert response["Content-Language"] == "en"
    html = response.content.decode()
    assert "Cloud Marketplace" in html
    assert "云商店" not in html


@pytest.mark.django_db
def test_seller_center_speaks_the_merchant_guide_vocabulary(client, seller_user):
    client.force_login(seller_user)
    html = client.get("/seller/").content.decode()
    assert "卖家中心" in html
    assert "结算管理" in html
    assert "合作申请" in html


def test_parser_reads_multiline_plural_and_context_entries(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
        '#: a.py:1\n#, fuzzy, python-format\nmsgctxt "c"\nmsgid ""\n"a %(n)s "\n"b"\n'
        'msgid_plural "as"\nmsgstr[0] "\\"x\\" %(n)s"\n\n'
        'msgid "y"\nmsgstr ""\n',
        encoding="utf-8",
    )
    header, first, second = parse_po(po)
    assert header.is_header and "nplurals=1" in header.msgstr[0]
    assert (first.msgctxt, first.msgid, first.msgid_plural) == ("c", "a %(n)s b", "as")
    assert first.msgstr == {0: '"x" %(n)s'} and first.flags == {"fuzzy", "python-format"}
    assert second.msgid == "y" and second.msgstr == {0: ""}
