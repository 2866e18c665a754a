"""Public reports (issue 14 §3), without a web server: the follow-up codes, the form's text, the
reporter's story from report to the school's answer, and what a code may and may not open.
All names and texts are fictitious."""

from __future__ import annotations

import base64
import dataclasses
import hmac
import re
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from infra.config.settings import Settings
from infra.entrypoints.web.report_limits import ReportLimits
from services.casework.application import CaseworkApplication
from services.casework.commands import AssignOwner, CloseCase, HoldIntake, ReplyToReporter
from services.casework.domain import EVENT_TYPES
from services.casework.handlers import CaseService
from services.casework.vocabulary import ReporterKind
from services.reporting.codes import (
    SECRET_BYTES,
    code_hash,
    code_key,
    code_matches,
    new_code,
    parse_code,
)
from services.reporting.service import (
    CodeRefused,
    PublicReport,
    PublicReports,
    PublicStatus,
    summary_of,
)
from services.shared.actor import PUBLIC_REPORTER
from services.shared.errors import InvalidInput, RuleViolation, WrongState
from tests.unit.support import CONTACT, stored_types
from tests.unit.test_case_invariants import PUBLIC_FORM_EVENTS, TODAY

KEY = code_key(b"s" * 32)


def form(**fields: object) -> PublicReport:
    values: dict[str, object] = {"reporter": "pupil_target", "anonymous": True, "what": "Fictief"}
    values.update(fields)
    return PublicReport(**values)  # type: ignore[arg-type]


@pytest.fixture
def reports(app: CaseworkApplication, school_id: UUID) -> PublicReports:
    return PublicReports(app, school_id, KEY)


# --- codes ---------------------------------------------------------------------------------------


def test_a_code_is_sixteen_characters_to_type_and_names_one_case_of_one_school() -> None:
    school = uuid4()
    made = [new_code(KEY, school) for _ in range(50)]
    assert len({code for _, code in made}) == 50
    for case_id, code in made:
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", code), code
        parsed = parse_code(f"  {code}\n", KEY, school)
        assert parsed is not None
        assert parsed.case_id == case_id
        assert len(parsed.secret) * 5 == 40
        # Another school or another server key: the same handle names another case.
        assert parse_code(code, KEY, uuid4()).case_id != case_id  # type: ignore[union-attr]
        other_key = code_key(b"o" * 32)
        assert parse_code(code, other_key, school).case_id != case_id  # type: ignore[union-attr]


def test_a_code_typed_loosely_reads_the_same() -> None:
    school = uuid4()
    _, code = new_code(KEY, school)
    parsed = parse_code(code, KEY, school)
    assert parsed is not None
    plain = code.replace("-", "")
    for typed in (
        code.lower(),
        plain,
        " ".join(plain[i : i + 4] for i in range(0, 16, 4)),
        code.replace("0", "o").replace("1", "l"),
    ):
        again = parse_code(typed, KEY, school)
        assert again == parsed, typed


def test_a_code_issued_before_still_parses() -> None:
    case_id = uuid4()
    legacy = (
        base64.urlsafe_b64encode(case_id.bytes).rstrip(b"=").decode()
        + "."
        + base64.urlsafe_b64encode(bytes(range(SECRET_BYTES))).rstrip(b"=").decode()
    )
    parsed = parse_code(legacy, KEY, uuid4())
    assert parsed is not None
    assert parsed.case_id == case_id


@pytest.mark.parametrize(
    "garbage",
    [
        "", "abc", "a" * 45, "x" * 22 + "." + "y" * 21, "é" * 22 + "." + "y" * 22,
        "ABCD-EFGH-JKMN-PQR", "ABCD-EFGH-JKMN-PQRST", "ABCD-EFGH-JKMN-PQRU", "ABCD_EFGH_JKMN_PQRS",
    ],
)  # fmt: skip
def test_anything_else_is_not_a_code(garbage: str) -> None:
    assert parse_code(garbage, KEY, uuid4()) is None


def test_the_hash_is_keyed_bound_to_school_and_case_and_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    school = uuid4()
    parsed = parse_code(new_code(KEY, school)[1], KEY, school)
    assert parsed is not None
    stored = code_hash(KEY, school, parsed)
    assert parsed.secret not in stored
    assert code_matches(KEY, school, parsed, stored)
    assert not code_matches(code_key(b"o" * 32), school, parsed, stored)  # another server key
    assert not code_matches(KEY, uuid4(), parsed, stored)  # another school
    assert not code_matches(KEY, school, parsed, None)
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert code_matches(KEY, school, parsed, stored)
    assert compared


# --- the form's text -----------------------------------------------------------------------------


def test_anonymous_reports_drop_name_and_contact() -> None:
    kind, summary = summary_of(
        form(anonymous=True, name="Fictieve Naam", contact="fictief@example.invalid", where="Plein")
    )
    assert kind is ReporterKind.TARGET_PUPIL
    assert "anoniem" in summary
    assert "Fictieve Naam" not in summary
    assert "example.invalid" not in summary
    assert "Waar: Plein" in summary


def test_named_reports_keep_name_and_contact() -> None:
    kind, summary = summary_of(
        form(reporter="parent", anonymous=False, name="Ouder Test-A", contact="06-00000000")
    )
    assert kind is ReporterKind.PARENT
    assert "Ouder Test-A" in summary
    assert "Contact: 06-00000000" in summary


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"what": ""}, "what", "required"),
        ({"what": "  "}, "what", "required"),
        ({"where": "a\x00b"}, "where", "unsafe_characters"),
        ({"who": "x" * 1001}, "who", "too_long"),
        ({"reporter": "teacher"}, "reporter", "unknown_choice"),
    ],
)
def test_bad_fields_are_refused_by_name_and_nothing_is_stored(
    app: CaseworkApplication,
    reports: PublicReports,
    fields: dict[str, str],
    field: str,
    reason: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        reports.file(form(**fields))
    assert (refused.value.field, refused.value.reason) == (field, reason)
    assert app.recorder.select_notifications(start=None, limit=10) == []


# --- the story -----------------------------------------------------------------------------------


def test_report_answer_and_follow_up(
    app: CaseworkApplication, service: CaseService, reports: PublicReports
) -> None:
    filed = reports.file(form(what="Fictief: uitgelachen in de groepsapp"))
    case = app.get_case(filed.case_id, reports.school_id)
    assert case.reporter_kind == "target_pupil"
    assert case.owner_id is None
    assert filed.code not in repr(vars(case))  # only the hash is kept
    events = list(app.events.get(filed.case_id))
    assert {e.actor_id for e in events} == {PUBLIC_REPORTER.user_id}
    assert reports.view(filed.code).status is PublicStatus.RECEIVED

    service.handle(CONTACT, ReplyToReporter(case_id=filed.case_id, text="Fictief: ik kom langs"))
    service.handle(CONTACT, AssignOwner(case_id=filed.case_id, owner_id=CONTACT.user_id))
    view = reports.post(filed.code, "Fictief: oké")
    assert view.status is PublicStatus.IN_PROGRESS
    assert view.messages == (("school", "Fictief: ik kom langs"), ("reporter", "Fictief: oké"))
    assert set(stored_types(app, filed.case_id)) >= PUBLIC_FORM_EVENTS
    assert {t.__name__ for t in EVENT_TYPES} >= PUBLIC_FORM_EVENTS

    # Replayed from the log, the case is the same.
    replayed = None
    for stored in app.events.get(filed.case_id):
        replayed = stored.mutate(replayed)
    assert replayed is not None
    assert vars(replayed) == vars(app.get_case(filed.case_id, reports.school_id))

    service.handle(CONTACT, HoldIntake(case_id=filed.case_id, held_on=TODAY, summary="Fictief"))
    service.handle(
        CONTACT,
        CloseCase(case_id=filed.case_id, reason="referred", explanation="Fictief: zorgteam"),
    )
    done = reports.view(filed.code)
    assert (done.status, done.open) == (PublicStatus.DONE, False)
    with pytest.raises(RuleViolation):
        reports.post(filed.code, "Fictief: nog iets")


def test_a_code_opens_only_its_own_case_of_its_own_school(
    app: CaseworkApplication, reports: PublicReports
) -> None:
    one = reports.file(form())
    two = reports.file(form())
    # The first case's handle with the second case's secret.
    mixed = one.code[:9] + two.code[10:]
    assert mixed != one.code
    for code, reason in (
        (mixed, "mismatch"),
        ("niet-een-code", "malformed"),
        (new_code(KEY, reports.school_id)[1], "unknown"),
    ):
        with pytest.raises(CodeRefused) as refused:
            reports.view(code)
        assert refused.value.reason == reason
        assert code not in str(refused.value)
    elsewhere = PublicReports(app, uuid4(), KEY)
    with pytest.raises(CodeRefused):
        elsewhere.view(one.code)


def test_the_school_cannot_write_to_a_case_nobody_reported_through_the_form(
    service: CaseService, case_id: UUID
) -> None:
    with pytest.raises(WrongState):
        service.handle(CONTACT, ReplyToReporter(case_id=case_id, text="Fictief"))


def test_a_reporter_message_is_cleaned_like_other_free_text(reports: PublicReports) -> None:
    filed = reports.file(form())
    with pytest.raises(InvalidInput) as refused:
        reports.post(filed.code, "a\x00b")
    assert refused.value.field == "text"
    assert reports.view(filed.code).messages == ()


# --- the web's counters (memory storage, as in the embedded demo) --------------------------------


def _limits(**rates: str) -> ReportLimits:
    settings = Settings(
        database_url="postgresql://unused", data_dir=Path("."), master_key=b"k" * 32
    )
    return ReportLimits.from_settings(dataclasses.replace(settings, **rates))


def test_attempts_are_counted_per_address_and_per_case() -> None:
    limits = _limits(code_rate_per_address="3/minute", code_rate_per_code="2/minute")
    case = str(uuid4())
    assert limits.code_allowed("school-test", "192.0.2.1", case) is None
    assert limits.code_allowed("school-test", "192.0.2.2", case) is None
    # The third try on the same case, from yet another address, is refused.
    assert limits.code_allowed("school-test", "192.0.2.3", case) == "rate_code"
    # One address trying many cases runs out too.
    assert limits.code_allowed("school-test", "192.0.2.9", str(uuid4())) is None
    assert limits.code_allowed("school-test", "192.0.2.9", str(uuid4())) is None
    assert limits.code_allowed("school-test", "192.0.2.9", str(uuid4())) is None
    assert limits.code_allowed("school-test", "192.0.2.9", str(uuid4())) == "rate_address"
    # Another school's counts are its own.
    assert limits.code_allowed("school-other", "192.0.2.9", case) is None


def test_nonsense_counts_against_the_address_only() -> None:
    limits = _limits(code_rate_per_address="2/minute", code_rate_per_code="1/minute")
    assert limits.code_allowed("school-test", "192.0.2.1", None) is None
    assert limits.code_allowed("school-test", "192.0.2.2", None) is None
    assert limits.code_allowed("school-test", "192.0.2.3", None) is None


def test_reports_per_address() -> None:
    limits = _limits(report_rate_per_address="2/minute")
    assert limits.report_allowed("school-test", "192.0.2.1")
    assert limits.report_allowed("school-test", "192.0.2.1")
    assert not limits.report_allowed("school-test", "192.0.2.1")
    assert limits.report_allowed("school-test", "192.0.2.2")


def test_new_sessions_per_address() -> None:
    limits = _limits(code_rate_per_address="1/minute")
    assert limits.session_allowed("school-test", "192.0.2.1")
    assert not limits.session_allowed("school-test", "192.0.2.1")
    # A count of its own: follow-up attempts from the address are not used up by it.
    assert limits.code_allowed("school-test", "192.0.2.1", None) is None
