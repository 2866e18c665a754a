"""Unit tier for the worker: broker set-up, the after-commit hook, dead-letter descriptions.

No database and no network: the stub broker, in-memory applications, fake senders.
"""

from __future__ import annotations

import logging
import threading
from uuid import UUID, uuid4

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from infra.adapters import jobs as registry
from infra.adapters.jobs import (
    CATCH_UP_JOB,
    CoalescingNotifier,
    SavedNotifier,
    actor_for,
    job,
    job_queues,
    queue_name,
    registered_jobs,
)
from infra.config.settings import Settings, SettingsError
from infra.entrypoints.worker import actors
from infra.entrypoints.worker.actors import InvalidJob
from infra.entrypoints.worker.broker import broker_kind, setup_broker
from infra.entrypoints.worker.deadletters import _describe, _error_class, list_dead_letters
from services.access.roles import Role
from services.casework.commands import AddNote, ReportCase
from services.shared.errors import PermissionDenied
from tests.unit.support import CONTACT, actor, new_app, new_service

SCHOOL = UUID("00000000-0000-4000-8000-000000000001")


def test_broker_kind_from_url() -> None:
    assert broker_kind(None) == "stub"
    assert broker_kind("amqp://guest:guest@127.0.0.1:5672/") == "rabbitmq"
    assert broker_kind("redis://127.0.0.1:6379/0") == "redis"
    with pytest.raises(ValueError, match="BROKER_URL"):
        broker_kind("http://example.invalid")


def test_setup_broker_declares_every_job_on_the_new_broker_only() -> None:
    first = setup_broker(None, namespace="unitone")
    second = setup_broker(None, namespace="unittwo")
    assert isinstance(second, StubBroker)
    assert dramatiq.get_broker() is second
    for name in registered_jobs():
        assert first.get_actor(name).broker is first
        assert second.get_actor(name).broker is second
    assert actor_for(actors.catch_up_school).queue_name == "unittwo.projections"
    assert job_queues("unittwo") == ["unittwo.mail", "unittwo.projections"]
    assert queue_name("unittwo", "projections") in second.get_declared_queues()


def test_a_job_with_unknown_options_is_refused() -> None:
    @job(queue="projections", name="unit_bad_options", colour="blue")
    def bad_options() -> None:
        pass

    try:
        with pytest.raises(ValueError, match="colour"):
            setup_broker(None, namespace="unitbad")
    finally:
        registry._jobs.pop("unit_bad_options")


def test_a_malformed_school_id_is_dead_lettered_without_retries() -> None:
    broker = setup_broker(None, namespace="unitinvalid", min_backoff=1, max_backoff=5)
    assert isinstance(broker, StubBroker)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        message = actor_for("catch_up_school").send("not-a-uuid")
        broker.join("unitinvalid.projections", timeout=5000, fail_fast=False)
        worker.join()
    finally:
        worker.stop()
    dead = broker.dead_letters
    assert [m.message_id for m in dead] == [message.message_id]
    assert "retries" not in dead[0].options or dead[0].options["retries"] <= 1
    with pytest.raises(InvalidJob):
        actors.catch_up_school("not-a-uuid")


def test_on_saved_runs_after_every_successful_save_only() -> None:
    app = new_app()
    calls: list[UUID] = []
    service = new_service(app, SCHOOL, on_saved=calls.append)
    case_id = service.report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief."))
    service.handle(CONTACT, AddNote(case_id=case_id, text="Fictieve notitie."))
    assert calls == [SCHOOL, SCHOOL]
    with pytest.raises(PermissionDenied):
        service.handle(actor(Role.DOMESTIC_VIOLENCE_OFFICER), AddNote(case_id=case_id, text="x"))
    assert calls == [SCHOOL, SCHOOL]


def test_a_failing_hook_never_fails_the_committed_command(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = new_app()

    def broken(_school_id: UUID) -> None:
        raise RuntimeError("Leerling Test-01 secret")

    service = new_service(app, SCHOOL, on_saved=broken)
    with caplog.at_level(logging.WARNING):
        case_id = service.report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief."))
    assert len(list(app.events.get(case_id))) == 1
    assert str(SCHOOL) in caplog.text
    assert "RuntimeError" in caplog.text
    assert "Leerling" not in caplog.text


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_notifier_survives_a_dead_broker_and_pauses_then_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    sent: list[str] = []
    down = True

    def send(school_id: str) -> None:
        if down:
            raise ConnectionError("broker down")
        sent.append(school_id)

    notifier = SavedNotifier(send, cooldown=10, clock=clock)
    with caplog.at_level(logging.WARNING):
        notifier(SCHOOL)  # fails: logs once and pauses
        notifier(SCHOOL)  # paused: not even tried
    assert notifier.sent == 0
    assert notifier.skipped == 2
    assert caplog.text.count("not sent") == 1
    assert str(SCHOOL) in caplog.text
    down = False
    clock.now += 11
    notifier(SCHOOL)
    assert sent == [str(SCHOOL)]


def test_coalescing_notifier_sends_one_hint_per_school_while_a_send_is_in_flight() -> None:
    sending = threading.Event()
    release = threading.Event()
    sent: list[str] = []

    def send(school_id: str) -> None:
        sending.set()
        release.wait(5)
        sent.append(school_id)

    other = uuid4()
    notifier = CoalescingNotifier(SavedNotifier(send))
    notifier(SCHOOL)  # returns at once: the sender thread sends it
    assert sending.wait(5)
    for _ in range(3):  # saved while the first hint is in flight: one more hint for SCHOOL
        notifier(SCHOOL)
    notifier(other)
    release.set()
    assert notifier.flush(5)
    assert sent == [str(SCHOOL), str(SCHOOL), str(other)]
    assert notifier.coalesced == 2
    assert notifier.sent == 3
    notifier.close()
    notifier(other)  # after close: sent in the caller's thread
    assert sent[-1] == str(other)


def test_coalescing_notifier_sends_what_is_pending_on_close() -> None:
    release = threading.Event()
    sent: list[str] = []

    def send(school_id: str) -> None:
        release.wait(5)
        sent.append(school_id)

    notifier = CoalescingNotifier(SavedNotifier(send))
    schools = [uuid4() for _ in range(3)]
    for school in schools:
        notifier(school)
    release.set()
    notifier.close()
    assert sent == [str(s) for s in schools]


def test_notify_saved_without_a_broker_set_up_still_returns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(registry._current, "broker", None)
    notifier = SavedNotifier()  # as the container builds it: sends catch_up_school by name
    school = uuid4()
    with caplog.at_level(logging.WARNING, logger=registry.__name__):
        notifier(school)  # raises nothing
    # One warning naming the school and the error class (no broker set up), nothing else.
    [record] = [r for r in caplog.records if r.name == registry.__name__]
    assert record.levelno == logging.WARNING
    assert "not sent" in record.getMessage()
    assert str(school) in record.getMessage()
    assert "RuntimeError" in record.getMessage()


def test_dead_letter_description_shows_ids_and_error_class_only() -> None:
    school = str(uuid4())
    message = dramatiq.Message(
        queue_name="vangnet.projections",
        actor_name="catch_up_school",
        args=(school,),
        kwargs={},
        options={"retries": 3, "error_class": "OperationalError", "traceback": "secret"},
    )
    letter = _describe("vangnet.projections", message.encode(), None)
    assert (letter.actor, letter.school_id, letter.error_class, letter.retries) == (
        "catch_up_school", school, "OperationalError", 3,
    )  # fmt: skip
    other = dramatiq.Message(
        queue_name="q", actor_name="x", args=("Leerling Test-01",), kwargs={}, options={}
    )
    assert _describe("q", other.encode(), None).school_id is None
    assert _error_class({"traceback": "Traceback...\npsycopg.errors.DeadlockDetected: x"}) == (
        "DeadlockDetected"
    )
    assert _error_class({}) is None
    with pytest.raises(ValueError, match="in-process"):
        list_dead_letters(None, "vangnet", ["vangnet.projections"])


def test_job_settings_from_the_environment() -> None:
    key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    settings = Settings.from_env(
        {
            "VANGNET_MASTER_KEY": key,
            "VANGNET_QUEUE_NAMESPACE": "tenant-a",
            "VANGNET_SWEEP_SECONDS": "5",
            "VANGNET_WORKER_THREADS": "2",
            "VANGNET_JOB_MAX_RETRIES": "0",
        }
    )
    assert settings.queue_namespace == "tenant-a"
    assert (settings.sweep_seconds, settings.worker_threads, settings.job_max_retries) == (5, 2, 0)
    defaults = Settings.from_env({"VANGNET_MASTER_KEY": key})
    assert (defaults.queue_namespace, defaults.sweep_seconds) == ("vangnet", 30)
    with pytest.raises(SettingsError, match="VANGNET_QUEUE_NAMESPACE"):
        Settings.from_env({"VANGNET_MASTER_KEY": key, "VANGNET_QUEUE_NAMESPACE": "a b"})
    with pytest.raises(SettingsError, match="VANGNET_JOB_MAX_RETRIES"):
        Settings.from_env({"VANGNET_MASTER_KEY": key, "VANGNET_JOB_MAX_RETRIES": "-1"})


def test_the_after_commit_hint_names_the_catch_up_job() -> None:
    # The container's notifier sends by name (infra.adapters.jobs imports no job): the name must be
    # the
    # catch-up job's.
    assert registered_jobs()[CATCH_UP_JOB].fn is actors.catch_up_school
