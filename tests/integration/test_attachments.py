"""Evidence attachments through the app, with a real clamd (issue 14 §1): the EICAR test file is
refused by the scan, a photo is stored without its metadata, listed, opened with the right
headers and recorded in the access log; without a scanner uploads are refused in Dutch; the
case file lists the files; erasing the case shreds them. All names and texts are fictitious.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient
from PIL import ExifTags, Image

from infra.adapters.attachments.clamd import ClamdScanner
from infra.adapters.exports.school import build_school_export
from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from infra.config.settings import Settings
from services.access.roles import Role
from services.attachments import documents
from services.attachments.documents import clean_pdf
from services.casework.commands import ReportCase, RequestErasure
from services.casework.handlers import CaseService
from services.shared.actor import Actor
from services.shared.text import MAX_TEXT
from tests.documents import lying_package, lzw_bomb, object_stream_pdf, pdf
from tests.integration.clamav import EICAR, SIGNATURE_NAME, clamd_address  # noqa: F401 (fixture)
from tests.integration.web import (
    FakeIssuer,
    Issuers,
    bearer,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    web_client,
    web_settings,
)

pytestmark = pytest.mark.integration

#: A PDF without metadata: stored as it came (cleaning it again changes nothing).
PDF = clean_pdf(pdf("bijlage"))


def photo_with_location() -> bytes:
    image = Image.new("RGB", (30, 20), "blue")
    exif = Image.Exif()
    exif[ExifTags.Base.ImageDescription] = "Fictieve camera"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({ExifTags.GPS.GPSLatitudeRef: "N"})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def scanned(test_settings: Settings, clamd_address: str) -> Iterator[Container]:  # noqa: F811
    """A container whose attachments are scanned by the test clamd."""
    with Container.open(dataclasses.replace(test_settings, clamd_address=clamd_address)) as c:
        yield c


@dataclass
class Site:
    client: TestClient  # type: ignore[type-arg]
    container: Container
    school: Any
    case_id: UUID
    issuer: FakeIssuer

    def csrf(self) -> str:
        page = self.client.get(f"/zaken/{self.case_id}").text
        found = re.search(r'name="_csrf_token" value="([^"]+)"', page)
        assert found
        return found.group(1)

    def upload(self, name: str, content: bytes, caption: str = "") -> Any:
        return self.client.post(
            f"/zaken/{self.case_id}/bijlagen",
            data={"_csrf_token": self.csrf(), "bijschrift": caption},
            files={"bestand": (name, content, "application/octet-stream")},
            follow_redirects=False,
        )

    def stored_rows(self) -> int:
        schema = self.school.schema_name
        with self.container.pool.connection() as conn:
            exists = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".attachments',)).fetchone()
            if exists is None or next(iter(dict(exists).values())) is None:
                return 0
            row = conn.execute(f'SELECT count(*) AS n FROM "{schema}".attachments').fetchone()
        assert row is not None
        return int(dict(row)["n"])

    def reads(self) -> list[str]:
        schema = self.school.schema_name
        with self.container.pool.connection() as conn:
            rows = conn.execute(
                f'SELECT what FROM "{schema}".case_reads WHERE case_id = %s ORDER BY id',
                (self.case_id,),
            ).fetchall()
        return [dict(r)["what"] for r in rows]


def export_of(container: Container, school: Any) -> dict[str, Any]:
    return build_school_export(
        container.pool,
        container.registry,
        container.schools.get(school.id),
        school,
        Actor("test-operator", Role.OPERATOR),
        datetime.now(UTC),
    )


@contextmanager
def site_on(container: Container, prefix: str, **settings: Any) -> Iterator[Site]:
    """A school with one reported case, the app on ``container``, the contact person logged in."""
    world = make_world(container, prefix)
    school = world.school_a
    issuer = FakeIssuer(f"https://idp.test/{school.slug}", "vangnet-api")
    configure_fake_login(container, school, issuer)
    service = CaseService(container.schools.get(school.id), school.id)
    case_id = service.report(
        Actor(f"test-{school.slug}-contact_person", Role.CONTACT_PERSON),
        ReportCase(reporter_kind="parent", summary="Fictieve melding met bijlagen"),
    )
    catch_up_school(container, school.id)
    app_settings = dataclasses.replace(web_settings(container), **settings)
    with web_client(
        container, http_transport=Issuers(issuer).transport, settings=app_settings
    ) as client:
        log_in(client, principal(school, Role.CONTACT_PERSON))
        yield Site(client, container, school, case_id, issuer)


def test_clamd_finds_the_eicar_test_file(clamd_address: str) -> None:  # noqa: F811
    scanner = ClamdScanner(clamd_address)
    found = scanner.scan(EICAR)
    assert found is not None
    assert SIGNATURE_NAME in found
    assert scanner.scan(PDF) is None


def test_an_upload_of_the_eicar_file_is_refused_and_nothing_is_stored(
    scanned: Container,
) -> None:
    with site_on(scanned, "att-eicar") as site:
        response = site.upload("factuur.pdf", EICAR, caption="Fictief")
        assert response.status_code == 422
        assert "De virusscanner heeft dit bestand geweigerd" in response.text
        assert site.stored_rows() == 0
        page = site.client.get(f"/zaken/{site.case_id}").text
        assert "Nog geen bijlagen." in page


def test_a_photo_is_stored_without_metadata_listed_and_opened_with_safe_headers(
    scanned: Container,
) -> None:
    with site_on(scanned, "att-photo") as site:
        response = site.upload("groepsapp.jpg", photo_with_location(), "Fictieve groepsapp")
        assert response.status_code == 303, response.text[:500]
        page = site.client.get(response.headers["location"]).text
        assert "De bijlage is toegevoegd." in page
        assert "Bijlage toegevoegd" in page  # the timeline entry
        assert "Fictieve groepsapp" in page
        found = re.search(rf"/zaken/{site.case_id}/bijlagen/([0-9a-f-]{{36}})", page)
        assert found
        assert site.stored_rows() == 1
        # Only ciphertext is stored: the JPEG's start marker is nowhere in the table.
        with scanned.pool.connection() as conn:
            row = conn.execute(
                f'SELECT ciphertext FROM "{site.school.schema_name}".attachments'
            ).fetchone()
        assert row is not None
        assert not bytes(dict(row)["ciphertext"]).startswith(b"\xff\xd8")
        before = site.reads()
        opened = site.client.get(found.group(0))
        assert opened.status_code == 200
        assert opened.headers["content-type"] == "image/jpeg"
        assert opened.headers["content-disposition"].startswith('inline; filename="groepsapp.jpg"')
        assert opened.headers["cache-control"] == "no-store"
        assert opened.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'self'" in opened.headers["content-security-policy"]
        with Image.open(io.BytesIO(opened.content)) as image:
            assert len(image.getexif()) == 0
        assert b"Fictieve camera" not in opened.content
        assert site.reads() == [*before, "attachment"]
        # The API gives the same file to a coordinator (recorded too); the safety coordinator
        # reads no case content.
        api_path = f"/api/cases/{site.case_id}/attachments/{found.group(1)}"
        r = site.client.get(api_path, headers=bearer(site.issuer, site.school, Role.COORDINATOR))
        assert r.status_code == 200
        assert r.content == opened.content
        assert site.reads()[-1] == "attachment"
        r = site.client.get(
            api_path, headers=bearer(site.issuer, site.school, Role.SAFETY_COORDINATOR)
        )
        assert r.status_code == 403
        # The case file lists the attachment.
        dossier = site.client.get(f"/zaken/{site.case_id}/dossier.json").json()
        (section,) = [s for s in dossier["sections"] if s["key"] == "attachments"]
        lines = {line["label"]: line["value"] for line in section["entries"][0]["lines"]}
        assert (lines["Bestand"], lines["Bijschrift"]) == ("groepsapp.jpg", "Fictieve groepsapp")


def test_erasing_the_case_shreds_its_attachments(scanned: Container) -> None:
    with site_on(scanned, "att-erase") as site:
        response = site.upload("brief.pdf", PDF)
        assert response.status_code == 303
        page = site.client.get(f"/zaken/{site.case_id}").text
        link = re.search(rf"/zaken/{site.case_id}/bijlagen/[0-9a-f-]{{36}}", page)
        assert link
        assert site.client.get(link.group(0)).content == PDF
        # The school export carries the file itself.
        (exported,) = export_of(scanned, site.school)["attachments"]
        assert exported["case_id"] == str(site.case_id)
        assert base64.b64decode(exported["content_base64"]) == PDF
        assert exported["sha256"] == hashlib.sha256(PDF).hexdigest()
        service = CaseService(scanned.schools.get(site.school.id), site.school.id)
        service.handle(
            Actor(f"test-{site.school.slug}-contact_person", Role.CONTACT_PERSON),
            RequestErasure(case_id=site.case_id, reason="Fictief verzoek"),
        )
        assert site.client.get(link.group(0)).status_code == 404
        # The key is gone: the export lists the file as erased, and holds nothing of it.
        (exported,) = export_of(scanned, site.school)["attachments"]
        assert exported == {
            "attachment_id": link.group(0).rsplit("/", 1)[1],
            "case_id": str(site.case_id),
            "erased": True,
        }


def test_a_type_not_on_the_list_is_refused_in_dutch(scanned: Container) -> None:
    with site_on(scanned, "att-type") as site:
        response = site.upload("foto.png", b"MZ\x90\x00 fictief programma")
        assert response.status_code == 422
        assert "bepaald aan de inhoud, niet aan de naam" in response.text
        assert site.stored_rows() == 0


def test_without_a_scanner_uploads_are_refused_with_a_dutch_message(
    container: Container,
) -> None:
    # The test database is not the embedded one: without VANGNET_CLAMD_ADDRESS nothing is taken.
    assert container.settings.clamd_address is None
    assert not container.settings.embedded
    with site_on(container, "att-noscan") as site:
        response = site.upload("brief.pdf", PDF)
        assert response.status_code == 503
        assert "er is geen virusscanner ingesteld" in response.text
        assert site.stored_rows() == 0
        # A file above the other forms' 1 MiB limit reaches the upload route (and is refused
        # for the same reason, not as too large).
        response = site.upload("groot.pdf", PDF + b"0" * (2 * 1024 * 1024))
        assert response.status_code == 503


def test_a_body_above_the_attachment_limit_is_refused_at_the_edge(container: Container) -> None:
    with site_on(container, "att-limit", attachment_max_bytes=1000) as site:
        response = site.upload("groot.pdf", PDF + b"0" * 200_000)
        assert response.status_code == 413
        # Other forms keep their own, smaller limit; the upload route only takes multipart.
        response = site.client.post(
            f"/zaken/{site.case_id}/bijlagen",
            data={"_csrf_token": site.csrf(), "bijschrift": "x"},
            follow_redirects=False,
        )
        assert response.status_code == 415


def test_the_api_takes_an_upload_through_the_same_checks(
    test_settings: Settings,
    clamd_address: str,  # noqa: F811
) -> None:
    """``POST /api/cases/{id}/attachments`` (multipart: file, caption): stored without the
    photo's metadata and opened again; refusals are problem details naming the field, with the
    status of what is wrong; a role that may not add to the case is refused before any scan."""
    small = dataclasses.replace(
        test_settings, clamd_address=clamd_address, attachment_max_bytes=50_000
    )
    with Container.open(small) as scanned, site_on(scanned, "att-api") as site:
        path = f"/api/cases/{site.case_id}/attachments"
        headers = bearer(site.issuer, site.school, Role.CONTACT_PERSON)

        def send(name: str, content: bytes, caption: str = "", **extra: Any) -> Any:
            return site.client.post(
                path,
                data={"caption": caption},
                files={"file": (name, content, "application/octet-stream")},
                headers={**headers, **extra},
            )

        r = send("foto.jpg", photo_with_location(), "Fictieve groepsapp via de API")
        assert r.status_code == 201, r.text[:500]
        added = r.json()
        assert added["media_type"] == "image/jpeg"
        assert added["case_id"] == str(site.case_id)
        assert r.headers["location"] == f"{path}/{added['attachment_id']}"
        opened = site.client.get(r.headers["location"], headers=headers)
        assert opened.status_code == 200
        assert opened.headers["cache-control"] == "no-store"
        with Image.open(io.BytesIO(opened.content)) as image:
            assert len(image.getexif()) == 0
        assert site.stored_rows() == 1

        refusals = [
            (send("virus.pdf", EICAR), 422, "file", "virus_found"),
            (send("script.exe", b"MZ" + b"\0" * 200), 415, "file", "type_not_allowed"),
            (send("groot.pdf", PDF + b"0" * 60_000), 413, "file", "too_large"),
            (send("leeg.pdf", b""), 422, "file", "empty"),
            (send("brief.pdf", PDF, "x" * (MAX_TEXT + 1)), 422, "caption", "too_long"),
        ]
        for response, status, field, reason in refusals:
            assert response.status_code == status, (reason, response.text[:300])
            assert response.headers["content-type"].startswith("application/problem+json")
            (error,) = response.json()["errors"]
            assert (error["field"], error["reason"]) == (field, reason)
        assert site.stored_rows() == 1

        # Only multipart is taken here (JSON too is refused at the edge).
        r = site.client.post(path, json={"caption": "x"}, headers=headers)
        assert r.status_code == 415
        assert r.headers["content-type"].startswith("application/problem+json")
        # The safety coordinator may not add to a case: refused by the guard.
        r = site.client.post(
            path,
            data={"caption": ""},
            files={"file": ("brief.pdf", PDF, "application/pdf")},
            headers=bearer(site.issuer, site.school, Role.SAFETY_COORDINATOR),
        )
        assert r.status_code == 403
        assert site.stored_rows() == 1


def test_the_openapi_document_states_the_upload_and_the_file(container: Container) -> None:
    with site_on(container, "att-openapi") as site:
        paths = site.client.get("/schema/openapi.json").json()["paths"]
        upload = paths["/api/cases/{case_id}/attachments"]["post"]
        (media,) = upload["requestBody"]["content"]
        assert media == "multipart/form-data"
        assert {"201", "413", "415", "422", "503"} <= set(upload["responses"])
        opened = paths["/api/cases/{case_id}/attachments/{attachment_id}"]["get"]
        types = set(opened["responses"]["200"]["content"])
        assert {"image/png", "image/jpeg", "application/pdf"} <= types
        assert "application/json" not in types


def test_the_api_refuses_uploads_without_a_scanner(container: Container) -> None:
    with site_on(container, "att-api-noscan") as site:
        r = site.client.post(
            f"/api/cases/{site.case_id}/attachments",
            data={"caption": ""},
            files={"file": ("brief.pdf", PDF, "application/pdf")},
            headers=bearer(site.issuer, site.school, Role.CONTACT_PERSON),
        )
        assert r.status_code == 503
        assert r.json()["code"] == "scanner_missing"
        assert site.stored_rows() == 0


def test_hostile_documents_are_refused_in_dutch_and_nothing_is_stored(
    scanned: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the upload page, past the virus scanner: a Word file whose entry lies about its
    size (200 MB of zeros declared as 10 bytes), a PDF whose object stream unpacks to far more
    than the cleaning may use (LZW), a PDF without an end: each 422, a Dutch message, nothing
    stored, and the web process's memory untouched (the PDF is cleaned in a child process)."""
    monkeypatch.setattr(documents, "PDF_MEMORY", 128 * 1024 * 1024)
    bomb = object_stream_pdf(lambda objects: (lzw_bomb(objects + b" ", 40), b"/LZWDecode"))
    with site_on(scanned, "att-hostile") as site:
        for name, content in (
            ("verslag.docx", lying_package(unpacked_mb=200, declared=10)),
            ("verslag.pdf", bomb),
            ("kapot.pdf", pdf("KAPOT")[:200]),
        ):
            response = site.upload(name, content)
            assert response.status_code == 422, (name, response.status_code)
            assert "kan niet worden gelezen" in response.text, name
        assert site.stored_rows() == 0
