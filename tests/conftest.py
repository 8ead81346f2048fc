"""Shared fixtures: the personas of DESIGN §1 and a few workflow builders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from templates_app import services
from templates_app.models import Workflow, WorkflowVersion
from testing.comfyui_server import ComfyUITestServer, comfyui_server
from tests.helpers import purge_broker, valid_definition, worker_env


def _user(username: str, group: str | None) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def operator(db: Any) -> User:
    return _user("olivia-operator", "operator")


@pytest.fixture
def manager(db: Any) -> User:
    return _user("marco-manager", "manager")


@pytest.fixture
def admin_user(db: Any) -> User:
    return _user("ada-admin", "admin")


@pytest.fixture
def outsider(db: Any) -> User:
    """Signed in, but holds no role: sees no more than an anonymous visitor."""
    return _user("oscar-outsider", None)


@pytest.fixture
def personas(operator: User, manager: User, admin_user: User, outsider: User) -> dict[str, User | None]:
    return {"anonymous": None, "outsider": outsider, "operator": operator, "manager": manager, "admin": admin_user}


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    return client_for


@pytest.fixture
def make_workflow(operator: User) -> Callable[..., Workflow]:
    def make(slug: str = "campaign-a", name: str = "Campaign A") -> Workflow:
        return services.create_workflow(actor=operator, slug=slug, name=name, description="Autumn campaign")

    return make


@pytest.fixture
def publish(operator: User, manager: User) -> Callable[..., WorkflowVersion]:
    """Publish a definition on a workflow through the real gate."""

    def do(
        workflow: Workflow,
        definition: dict[str, Any] | None = None,
        *,
        actor: User | None = None,
        visibility: str = "internal",
        channel: str = "standard",
        bump: str | None = None,
    ) -> WorkflowVersion:
        who = actor or (manager if visibility == "public" else operator)
        draft = services.save_draft(actor=who, workflow=workflow, definition=definition or valid_definition())
        version = services.publish_draft(actor=who, draft=draft, visibility=visibility, channel=channel, bump=bump)
        workflow.refresh_from_db()
        return version

    return do


# --- transactional tests, real workers ---------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_catalogue_snapshot() -> None:
    """Each test sees its own catalogue, not a display snapshot left by an earlier one."""
    from templates_app.catalogue import Catalogue

    Catalogue.forget()


@pytest.fixture(autouse=True)
def _reseed_after_flush(request: pytest.FixtureRequest) -> None:
    """Transactional tests flush every table; put back what migrations seeded."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or "transactional_db" in request.fixturenames
    if not transactional and "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    import importlib

    from django.apps import apps

    for seeding in ("0002_seed_catalogue_and_roles", "0007_realesrgan_families"):
        importlib.import_module(f"templates_app.migrations.{seeding}").seed(apps, None)


@pytest.fixture
def start_worker(transactional_db: Any) -> Any:
    """Start real Celery worker processes against the test database; stopped afterwards."""
    from testing.worker import CeleryWorker

    started: list[CeleryWorker] = []

    def start(**kwargs: Any) -> CeleryWorker:
        if not started:
            purge_broker()
        env = {**worker_env(), **kwargs.pop("env", {})}
        worker = CeleryWorker(env, **kwargs).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def worker(start_worker: Any) -> Any:
    return start_worker()


@pytest.fixture
def comfyui() -> Iterator[ComfyUITestServer]:
    """A ComfyUI test server on a loopback port (testing/comfyui_server.py), stopped afterwards."""
    with comfyui_server() as server:
        yield server
