"""Evidence attachments (issue 14 §1) in the unit tier: the checks before a file is stored, the
service's order (permission, scan, checks, encrypted store, event) and erasure shredding the
files' keys. The real clamd is in tests/integration/test_attachments.py. Files are made here.
"""

from __future__ import annotations

import io
from datetime import date
from uuid import UUID, uuid4

import pytest
from PIL import ExifTags, Image

from services.access.roles import Role
from services.attachments.checks import MAX_NAME, check_file, detect, safe_name
from services.attachments.documents import clean_pdf
from services.attachments.files import InMemoryAttachmentStore
from services.attachments.scanning import NoScanner, ScannerMissing, UnscannedDemo
from services.attachments.service import AttachmentGone, AttachmentService
from services.casework.application import CaseworkApplication
from services.casework.commands import (
    CloseCase,
    EngagePerson,
    GiveConsent,
    HoldIntake,
    PlanStep,
    ReportCase,
    RequestErasure,
)
from services.casework.sealing import InMemoryPupilKeys
from services.shared.errors import CaseClosed, CaseNotFound, InvalidInput, PermissionDenied
from tests.documents import pdf
from tests.unit.support import CONTACT, IN_MEMORY, actor, new_service


def jpeg_with_location() -> bytes:
    """A small JPEG with EXIF: a description, a GPS position and orientation 6 (rotate 90°)."""
    image = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[ExifTags.Base.ImageDescription] = "Fictieve camera-omschrijving"
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (52.0, 5.0, 1.0)}
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"Fictief commentaar")
    return out.getvalue()


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 0, 255)).save(out, format="PNG")
    return out.getvalue()


#: A PDF without metadata: stored as it came (cleaning it again changes nothing).
PDF = clean_pdf(pdf("bijlage"))


# --- the checks --------------------------------------------------------------------------------


def test_a_photo_loses_its_metadata_and_stays_upright() -> None:
    original = jpeg_with_location()
    assert b"Fictieve camera" in original
    checked = check_file(original, "foto.jpg")
    assert checked.media_type == "image/jpeg"
    assert b"Fictieve camera" not in checked.content
    assert b"Fictief commentaar" not in checked.content
    with Image.open(io.BytesIO(checked.content)) as image:
        assert len(image.getexif()) == 0  # no EXIF at all, so no GPS position
        assert image.size == (20, 40)  # orientation 6 applied to the pixels


def test_the_type_comes_from_the_content_not_the_name() -> None:
    # A PNG called .pdf is stored as the PNG it is, under a .png name.
    checked = check_file(png(), "verslag.pdf")
    assert (checked.media_type, checked.file_name) == ("image/png", "verslag.png")
    # A script called .png is refused.
    with pytest.raises(InvalidInput) as refused:
        check_file(b"#!/bin/sh\necho fictief\n", "screenshot.png")
    assert (refused.value.field, refused.value.reason) == ("file", "type_not_allowed")


def test_a_pdf_is_kept_with_its_pages_under_a_pdf_name() -> None:
    checked = check_file(PDF, "brief.PDF")
    assert (checked.media_type, checked.file_name) == ("application/pdf", "brief.pdf")
    assert (
        b"bijlage" in checked.content
    )  # the page's content (its metadata: test_document_metadata)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"%PDF-" + b"x" * 200, "too_large"),
        (b"PK\x03\x04" + b"\x00" * 40, "type_not_allowed"),  # a plain zip archive
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "unreadable_image"),  # a PNG header, no image
    ],
)
def test_what_is_refused_names_the_file_field(content: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_file(content, "x", max_bytes=100)
    assert (refused.value.field, refused.value.reason) == ("file", reason)


def test_a_download_name_has_no_path_and_no_quotes() -> None:
    assert safe_name('..\\..\\etc/"pass wd".exe', "pdf") == "pass wd.pdf"
    assert safe_name("", "png") == "bijlage.png"
    assert len(safe_name("a" * 500, "docx")) == MAX_NAME
    assert detect(png()) == "image/png"


# --- the scanner port ----------------------------------------------------------------------------


def test_without_a_scanner_uploads_are_refused_except_in_the_demo() -> None:
    with pytest.raises(ScannerMissing):
        NoScanner().scan(PDF)
    assert UnscannedDemo().scan(PDF) is None


class FakeScanner:
    """Finds a "virus" in content that holds the marker (the real clamd: integration tier)."""

    MARKER = b"FICTIEF-VIRUS"

    def __init__(self) -> None:
        self.scanned: list[bytes] = []

    def scan(self, content: bytes) -> str | None:
        self.scanned.append(content)
        return "Fictief.Virus" if self.MARKER in content else None


# --- the service ---------------------------------------------------------------------------------


class World:
    def __init__(self) -> None:
        self.keys = InMemoryPupilKeys()
        self.app = CaseworkApplication(env=IN_MEMORY, pupil_keys=self.keys)
        self.school_id = uuid4()
        self.cases = new_service(self.app, self.school_id)
        self.store = InMemoryAttachmentStore()
        self.scanner = FakeScanner()
        self.service = AttachmentService(
            self.cases, self.keys, self.store, self.scanner, max_bytes=10_000
        )
        self.case_id = self.cases.report(
            CONTACT, ReportCase(reporter_kind="parent", summary="Fictieve melding")
        )


@pytest.fixture
def world() -> World:
    return World()


def test_a_file_is_stored_encrypted_and_recorded_without_its_bytes(world: World) -> None:
    added = world.service.add(
        CONTACT, world.case_id, file_name="chat.png", content=png(), caption="Fictief gesprek"
    )
    case = world.app.get_case(world.case_id, world.school_id)
    info = case.attachments[added.attachment_id]
    assert (info.file_name, info.media_type, info.caption) == (
        "chat.png",
        "image/png",
        "Fictief gesprek",
    )
    (stored,) = world.store.files.values()
    cleaned = check_file(png(), "chat.png").content
    assert cleaned not in stored.ciphertext  # only ciphertext is kept
    (event,) = [
        e for e in world.app.events.get(world.case_id) if type(e).__name__ == "AttachmentAdded"
    ]
    assert not any(isinstance(v, bytes) for v in vars(event).values())
    opened = world.service.open(CONTACT, world.case_id, added.attachment_id)
    assert (opened.content, opened.file_name) == (cleaned, "chat.png")


def test_a_file_with_a_virus_is_refused_and_nothing_is_stored(world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        world.service.add(
            CONTACT, world.case_id, file_name="x.pdf", content=PDF + FakeScanner.MARKER
        )
    assert refused.value.reason == "virus_found"
    assert world.store.files == {}
    assert world.app.get_case(world.case_id, world.school_id).attachments == {}


def test_the_scan_sees_the_bytes_as_they_came(world: World) -> None:
    # The virus scan runs before the type check: an unknown file is scanned, then refused.
    with pytest.raises(InvalidInput) as refused:
        world.service.add(CONTACT, world.case_id, file_name="x.exe", content=b"MZ fictief")
    assert refused.value.reason == "type_not_allowed"
    assert world.scanner.scanned == [b"MZ fictief"]


def test_who_may_not_add_is_refused_before_anything_is_scanned(world: World) -> None:
    with pytest.raises(PermissionDenied):
        world.service.add(
            actor(Role.SAFETY_COORDINATOR), world.case_id, file_name="x.pdf", content=PDF
        )
    assert world.scanner.scanned == []
    assert world.store.files == {}


def test_a_refused_event_removes_the_stored_file(world: World) -> None:
    world.cases.handle(
        CONTACT, HoldIntake(case_id=world.case_id, held_on=_today(world), summary="F")
    )
    # A caption that the domain refuses (a control character) refuses the whole upload.
    with pytest.raises(InvalidInput) as refused:
        world.service.add(CONTACT, world.case_id, file_name="x.pdf", content=PDF, caption="\x00")
    assert refused.value.field == "caption"
    assert world.store.files == {}


def _today(world: World) -> date:
    return world.cases.clock.today()


def test_attachments_are_for_those_who_read_the_whole_case(world: World) -> None:
    added = world.service.add(CONTACT, world.case_id, file_name="x.pdf", content=PDF)
    # Need-to-know: the contact person, the coordinator and the auditor open evidence files; the
    # safety coordinator (statistics only) and a mentor not engaged in the case do not.
    for reader in (CONTACT, actor(Role.COORDINATOR), actor(Role.AUDITOR)):
        assert world.service.open(reader, world.case_id, added.attachment_id).content == PDF
    for outsider in (actor(Role.SAFETY_COORDINATOR), actor(Role.TEACHER, "user-mentor-att")):
        with pytest.raises((PermissionDenied, CaseNotFound)):
            world.service.open(outsider, world.case_id, added.attachment_id)
    # Engaged in a step, the mentor reads their part of the case, but not the evidence files
    # (they show the pupils themselves: services/access README, "What an engaged mentor needs").
    mentor = actor(Role.TEACHER, "user-mentor-att")
    c = world.case_id
    world.cases.handle(CONTACT, HoldIntake(case_id=c, held_on=_today(world), summary="F"))
    world.cases.handle(
        CONTACT, GiveConsent(case_id=c, given_by="pupil", covers=["talk_with_actor"])
    )
    step = PlanStep(case_id=c, kind="talk_with_actor", description="F")
    world.cases.handle(CONTACT, step)
    world.cases.handle(
        CONTACT,
        EngagePerson(case_id=c, step_id=step.step_id, user_id=mentor.user_id, staff_role="teacher"),
    )
    with pytest.raises(AttachmentGone):
        world.service.open(mentor, c, added.attachment_id)


def test_an_attachment_of_another_case_is_not_found(world: World) -> None:
    added = world.service.add(CONTACT, world.case_id, file_name="x.pdf", content=PDF)
    other = world.cases.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief 2"))
    with pytest.raises(AttachmentGone):
        world.service.open(CONTACT, other, added.attachment_id)
    with pytest.raises(AttachmentGone):
        world.service.open(CONTACT, world.case_id, uuid4())


def test_erasing_the_case_shreds_its_files(world: World) -> None:
    added = world.service.add(CONTACT, world.case_id, file_name="x.pdf", content=PDF)
    assert world.service.files_of_case(world.case_id) == [(added.attachment_id, PDF)]
    world.cases.handle(CONTACT, RequestErasure(case_id=world.case_id, reason="Fictief verzoek"))
    assert world.keys.keys == {}
    with pytest.raises(AttachmentGone):
        world.service.open(CONTACT, world.case_id, added.attachment_id)
    assert world.service.files_of_case(world.case_id) == []


def test_the_attachment_id_is_a_uuid(world: World) -> None:
    added = world.service.add(CONTACT, world.case_id, file_name="x.pdf", content=PDF)
    assert isinstance(added.attachment_id, UUID)
    assert added.version == 2


def test_a_closed_case_takes_no_file_and_nothing_is_scanned(world: World) -> None:
    world.cases.handle(
        CONTACT,
        CloseCase(case_id=world.case_id, reason="withdrawn", explanation="Fictief ingetrokken"),
    )
    with pytest.raises(CaseClosed):
        world.service.add(CONTACT, world.case_id, file_name="x.pdf", content=PDF)
    assert world.scanner.scanned == []
    assert world.store.files == {}
