"""The pupil picker of the add-participant form, through HTTP on real PostgreSQL: the action
page searches the school's register (no JavaScript: a GET form), the picked pupil becomes a
participant linked by pupil id; another school's pupil, a made-up id and a bad search are
refused with a 4xx and nothing is stored. Every name is fictitious."""

from __future__ import annotations

import re
from uuid import UUID, uuid4

import pytest

from infra.bootstrap.container import Container
from services.access.roles import Role
from services.casework.application import register_of
from services.pupils.domain import PupilDetails
from services.shared.actor import Actor
from tenants.registry import School
from tests.integration.test_pages import browser, reported_case
from tests.integration.web import make_world, principal

pytestmark = pytest.mark.integration


def _register(container: Container, school: School, ref: str, name: str, group: str) -> UUID:
    contact = Actor(user_id=f"test-{school.slug}-contact_person", role=Role.CONTACT_PERSON)
    register = register_of(container.schools.get(school.id), school.id)
    return register.register(contact, PupilDetails(ref, name, group)).id


def _picked(page: str) -> list[str]:
    return re.findall(r'name="pupil_id" value="([0-9a-f-]{36})"', page)


def test_the_add_participant_form_picks_a_pupil_from_the_register(container: Container) -> None:
    world = make_world(container, "pupil-picker")
    tag = uuid4().hex[:6]
    mine = _register(container, world.school_a, f"P-{tag}", f"Fictieve Roosje Picker-{tag}", "6b")
    other = _register(container, world.school_a, f"Q-{tag}", f"Fictieve Ot Anders-{tag}", "3a")
    theirs = _register(container, world.school_b, f"B-{tag}", f"Fictieve Bo Elders-{tag}", "6b")
    case_id = reported_case(container, world.school_a, "Fictieve melding voor de picker")
    url = f"/zaken/{case_id}"
    with browser(container, principal(world.school_a, Role.CONTACT_PERSON)) as b:
        # The case page links to the search instead of asking for an id.
        case_page = b.get(url)
        assert f'href="{url}/add-participant#leerling-zoeken"' in case_page
        assert 'name="pupil_id" value=""' not in case_page
        # The search (a plain GET form) finds by name and by group; never another school's.
        page = b.get(f"{url}/add-participant?zoek=Picker-{tag}")
        assert _picked(page) == [str(mine)]
        assert f"Fictieve Roosje Picker-{tag} (6b, leerlingnummer P-{tag})" in page
        assert "1 leerling gevonden" in page
        page = b.get(f"{url}/add-participant?zoek=6b")
        assert str(mine) in _picked(page)
        assert str(theirs) not in _picked(page)
        assert "Fictieve Bo Elders" not in page
        nothing = b.get(f"{url}/add-participant?zoek=Niemand-{tag}")
        assert _picked(nothing) == []
        assert "Geen leerling gevonden" in nothing
        # A search with a control character: 422 with the reason on the page.
        refused = b.client.get(f"{url}/add-participant", params={"zoek": "Roos\x07je"})
        assert refused.status_code == 422
        assert "Er is niet gezocht." in refused.text
        assert b.client.get(f"{url}/add-participant?zoek={'x' * 201}").status_code == 400

        # Another school's pupil: refused naming the field, nothing stored.
        b.get(f"{url}/add-participant?zoek=Picker-{tag}")
        version = b.version()
        response = b.post(
            f"{url}/add-participant",
            {"expected_version": version, "pupil_id": str(theirs), "role": "target"},
        )
        assert response.status_code == 422
        assert 'id="add-participant-pupil-id-error"' in response.text
        assert "staat niet in het leerlingregister van de school" in response.text
        # Not an id at all; an id nobody has.
        for bad in ("leerling-7", str(uuid4())):
            response = b.post(
                f"{url}/add-participant",
                {"expected_version": version, "pupil_id": bad, "role": "target"},
            )
            assert response.status_code == 422, bad
            assert 'id="add-participant-pupil-id-error"' in response.text
        # No role: the form again.
        response = b.post(
            f"{url}/add-participant", {"expected_version": version, "pupil_id": str(mine)}
        )
        assert response.status_code == 422
        assert b.get(url).count("/leerlingen/") == case_page.count("/leerlingen/")
        assert b.version() == version

        # Picked: the participant points to the register's pupil.
        b.get(f"{url}/add-participant?zoek=Picker-{tag}")
        page = b.submit(
            f"{url}/add-participant",
            {"expected_version": b.version(), "pupil_id": str(mine), "role": "target"},
        )
        assert f'href="/leerlingen/{mine}"' in page
        assert f'href="/leerlingen/{other}"' not in page
        # Not in the register: added on the spot (and so to the register) from the same form.
        b.get(f"{url}/add-participant")
        page = b.submit(
            f"{url}/add-participant",
            {"expected_version": b.version(), "pupil_id": "", "role": "actor",
             "pupil_ref": f"N-{tag}", "display_name": f"Fictieve Nieuwe-{tag}", "group": "6b"},
        )  # fmt: skip
        assert f"Fictieve Nieuwe-{tag}" in page
        assert len(_picked(b.get(f"{url}/add-participant?zoek=Nieuwe-{tag}"))) == 1
