"""The Dutch e-mail texts (infra.adapters.mail) and the mail settings: no database, no network.

The builders take ids, kinds, levels and dates only; these tests check the texts, the link, and
that nothing else (a name, a summary) can be passed in.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import pytest

from infra.adapters import mail
from infra.adapters.mail import (
    LogMailer,
    MailContext,
    SmtpMailer,
    complaint_text,
    dutch_date,
    mailer_from_settings,
    new_report_text,
    overdue_text,
    reminder_text,
)
from infra.config.settings import Settings, SettingsError
from projections.notifications.projection import ReminderKind
from services.casework.vocabulary import ComplaintLevel
from services.shared.errors import InvalidInput

CASE = UUID("0b7f6a52-6c1e-4d8a-9a55-000000000001")
CTX = MailContext(public_url="https://vangnet.example.nl/", school_slug="de-regenboog")
LINK = f"https://vangnet.example.nl/cases/{CASE}"
BUILDERS = (new_report_text, complaint_text, reminder_text, overdue_text)


def test_new_report() -> None:
    text = new_report_text(CTX, CASE)
    assert text.subject == "[Vangnet de-regenboog] Nieuwe melding van pesten"
    assert "nieuwe melding van pesten" in text.body
    assert "intake" in text.body
    assert LINK in text.body
    assert "School: de-regenboog" in text.body
    assert "geen inhoud van de zaak" in text.body


@pytest.mark.parametrize(
    ("level", "escalated", "subject", "phrase"),
    [
        (ComplaintLevel.MANAGEMENT, False, "Nieuwe klacht bij directie", "bij de directie"),
        (ComplaintLevel.BOARD, True, "Klacht doorgezet naar bestuur", "naar het bestuur"),
        (
            ComplaintLevel.COMMITTEE,
            True,
            "Klacht doorgezet naar klachtencommissie",
            "naar de klachtencommissie",
        ),
    ],
)
def test_complaints(level: ComplaintLevel, escalated: bool, subject: str, phrase: str) -> None:
    text = complaint_text(CTX, CASE, level, escalated=escalated)
    assert text.subject.endswith(subject)
    assert phrase in text.body
    assert LINK in text.body
    forwards = "doorsturen naar de klachtencommissie" in text.body
    assert forwards == (level is ComplaintLevel.COMMITTEE)


@pytest.mark.parametrize(
    ("today", "when"),
    [
        (date(2025, 3, 2), "over 2 dagen"),
        (date(2025, 3, 3), "morgen"),
        (date(2025, 3, 4), "vandaag"),
    ],
)
def test_reminders(today: date, when: str) -> None:
    due = date(2025, 3, 4)
    follow_up = reminder_text(CTX, CASE, ReminderKind.FOLLOW_UP, due, today=today)
    assert follow_up.subject == "[Vangnet de-regenboog] Herinnering: nazorg op 4 maart 2025"
    assert f"{when} (4 maart 2025) een nazorgmoment gepland" in follow_up.body
    review = reminder_text(CTX, CASE, ReminderKind.AGREEMENT_REVIEW, due, today=today)
    assert "afspraken evalueren" in review.subject
    assert "evaluatie van gemaakte afspraken" in review.body
    assert LINK in follow_up.body
    assert LINK in review.body


def test_overdue() -> None:
    text = overdue_text(CTX, CASE, date(2024, 12, 31))
    assert text.subject == "[Vangnet de-regenboog] Nazorg te laat"
    assert "31 december 2024" in text.body
    assert "anti-pestcoördinator" in text.body
    assert LINK in text.body


def test_dutch_dates() -> None:
    assert dutch_date(date(2025, 1, 1)) == "1 januari 2025"
    assert dutch_date(date(2025, 10, 15)) == "15 oktober 2025"


def test_builders_take_no_free_text() -> None:
    """Only ids, enums, dates, flags and the (validated) context: no ``str`` parameter at all."""
    allowed = {MailContext, UUID, ComplaintLevel, ReminderKind, date, bool}
    for builder in BUILDERS:
        hints = typing.get_type_hints(builder, vars(mail))
        params = inspect.signature(builder).parameters
        for name in params:
            assert hints[name] in allowed, f"{builder.__name__}({name}: {hints[name]})"


@pytest.mark.parametrize(
    "call",
    [
        lambda: new_report_text(CTX, "Pietje Testleerling"),  # type: ignore[arg-type]
        lambda: new_report_text(CTX, str(CASE)),  # type: ignore[arg-type]
        lambda: complaint_text(CTX, CASE, "bestuur, zie notitie", escalated=True),  # type: ignore[arg-type]
        lambda: complaint_text(CTX, CASE, ComplaintLevel.BOARD, escalated="ja"),  # type: ignore[arg-type]
        lambda: reminder_text(CTX, CASE, "follow_up", date(2025, 1, 1), today=date(2025, 1, 1)),  # type: ignore[arg-type]
        lambda: reminder_text(
            CTX,
            CASE,
            ReminderKind.FOLLOW_UP,
            datetime(2025, 1, 1, tzinfo=UTC),
            today=date(2025, 1, 1),
        ),
        lambda: overdue_text(CTX, CASE, "gisteren"),  # type: ignore[arg-type]
    ],
)
def test_anything_else_is_refused_at_runtime(call: typing.Callable[[], object]) -> None:
    with pytest.raises(TypeError):
        call()


def test_context_is_validated() -> None:
    with pytest.raises(ValueError, match="http"):
        MailContext(public_url="javascript:alert(1)", school_slug="de-regenboog")
    with pytest.raises(InvalidInput):
        MailContext(public_url="https://x.example", school_slug="Pietje Testleerling")
    assert MailContext("http://h:8000///", "ab").case_link(CASE) == f"http://h:8000/cases/{CASE}"


# --- settings and mailer choice -------------------------------------------------------------


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"VANGNET_DATA_DIR": str(tmp_path), **env})


def test_mail_settings_defaults(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    assert s.smtp_host is None
    assert s.public_url == "http://127.0.0.1:8000"
    assert s.reminder_days_before == 2
    assert isinstance(mailer_from_settings(s), LogMailer)


def test_mail_settings_smtp(tmp_path: Path) -> None:
    s = _settings(
        tmp_path,
        VANGNET_SMTP_HOST="smtp.example.nl",
        VANGNET_SMTP_TLS="ssl",
        VANGNET_SMTP_USER="vangnet",
        VANGNET_SMTP_PASSWORD="geheim-wachtwoord",
        VANGNET_MAIL_FROM="Vangnet <noreply@example.nl>",
        VANGNET_PUBLIC_URL="https://vangnet.example.nl/",
        VANGNET_REMINDER_DAYS="0",
    )
    assert (s.smtp_port, s.smtp_tls, s.public_url) == (465, "ssl", "https://vangnet.example.nl")
    assert s.reminder_days_before == 0
    mailer = mailer_from_settings(s)
    assert isinstance(mailer, SmtpMailer)
    assert "geheim-wachtwoord" not in repr(s) + repr(mailer)
    assert _settings(tmp_path, VANGNET_SMTP_TLS="none").smtp_port == 25
    assert replace(s, smtp_port=2525).smtp_port == 2525


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"VANGNET_SMTP_TLS": "tls"}, "VANGNET_SMTP_TLS"),
        ({"VANGNET_SMTP_HOST": "smtp.example.nl"}, "VANGNET_MAIL_FROM"),
        ({"VANGNET_SMTP_PORT": "zeven"}, "VANGNET_SMTP_PORT"),
        ({"VANGNET_PUBLIC_URL": "vangnet.example.nl"}, "VANGNET_PUBLIC_URL"),
        ({"VANGNET_REMINDER_DAYS": "-1"}, "VANGNET_REMINDER_DAYS"),
    ],
)
def test_bad_mail_settings_name_the_variable(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        _settings(tmp_path, **env)
