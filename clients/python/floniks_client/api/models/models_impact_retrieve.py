from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.snapshot_impact import SnapshotImpact
from ...types import UNSET, Response


def _get_kwargs(
    family: str,
    snapshot: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/models/{family}@{snapshot}/impact/".format(
            family=quote(str(family), safe=""),
            snapshot=quote(str(snapshot), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | SnapshotImpact | None:
    if response.status_code == 200:
        response_200 = SnapshotImpact.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 414:
        response_414 = cast(Any, None)
        return response_414

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | Error | SnapshotImpact]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    family: str,
    snapshot: str,
    *,
    client: AuthenticatedClient,
) -> Response[Any | Error | SnapshotImpact]:
    """What retiring this snapshot, or moving the family's default away from it, touches.

    Args:
        family (str):
        snapshot (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | SnapshotImpact]
    """

    kwargs = _get_kwargs(
        family=family,
        snapshot=snapshot,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    family: str,
    snapshot: str,
    *,
    client: AuthenticatedClient,
) -> Any | Error | SnapshotImpact | None:
    """What retiring this snapshot, or moving the family's default away from it, touches.

    Args:
        family (str):
        snapshot (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | SnapshotImpact
    """

    return sync_detailed(
        family=family,
        snapshot=snapshot,
        client=client,
    ).parsed


async def asyncio_detailed(
    family: str,
    snapshot: str,
    *,
    client: AuthenticatedClient,
) -> Response[Any | Error | SnapshotImpact]:
    """What retiring this snapshot, or moving the family's default away from it, touches.

    Args:
        family (str):
        snapshot (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | SnapshotImpact]
    """

    kwargs = _get_kwargs(
        family=family,
        snapshot=snapshot,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    family: str,
    snapshot: str,
    *,
    client: AuthenticatedClient,
) -> Any | Error | SnapshotImpact | None:
    """What retiring this snapshot, or moving the family's default away from it, touches.

    Args:
        family (str):
        snapshot (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | SnapshotImpact
    """

    return (
        await asyncio_detailed(
            family=family,
            snapshot=snapshot,
            client=client,
        )
    ).parsed
