from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.catalogue_change import CatalogueChange
from ...models.error import Error
from ...models.reason_request import ReasonRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    family: str,
    snapshot: str,
    *,
    body: ReasonRequest | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/models/{family}@{snapshot}/restore/".format(
            family=quote(str(family), safe=""),
            snapshot=quote(str(snapshot), safe=""),
        ),
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | CatalogueChange | Error | None:
    if response.status_code == 200:
        response_200 = CatalogueChange.from_dict(response.json())

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

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

    if response.status_code == 414:
        response_414 = cast(Any, None)
        return response_414

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | CatalogueChange | Error]:
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
    body: ReasonRequest | Unset = UNSET,
) -> Response[Any | CatalogueChange | Error]:
    """Un-retire a snapshot; the answer carries what depends on it now.

    Args:
        family (str):
        snapshot (str):
        body (ReasonRequest | Unset): The body of every action that takes only an optional reason
            (it lands in the pointer history).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | CatalogueChange | Error]
    """

    kwargs = _get_kwargs(
        family=family,
        snapshot=snapshot,
        body=body,
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
    body: ReasonRequest | Unset = UNSET,
) -> Any | CatalogueChange | Error | None:
    """Un-retire a snapshot; the answer carries what depends on it now.

    Args:
        family (str):
        snapshot (str):
        body (ReasonRequest | Unset): The body of every action that takes only an optional reason
            (it lands in the pointer history).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | CatalogueChange | Error
    """

    return sync_detailed(
        family=family,
        snapshot=snapshot,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    family: str,
    snapshot: str,
    *,
    client: AuthenticatedClient,
    body: ReasonRequest | Unset = UNSET,
) -> Response[Any | CatalogueChange | Error]:
    """Un-retire a snapshot; the answer carries what depends on it now.

    Args:
        family (str):
        snapshot (str):
        body (ReasonRequest | Unset): The body of every action that takes only an optional reason
            (it lands in the pointer history).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | CatalogueChange | Error]
    """

    kwargs = _get_kwargs(
        family=family,
        snapshot=snapshot,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    family: str,
    snapshot: str,
    *,
    client: AuthenticatedClient,
    body: ReasonRequest | Unset = UNSET,
) -> Any | CatalogueChange | Error | None:
    """Un-retire a snapshot; the answer carries what depends on it now.

    Args:
        family (str):
        snapshot (str):
        body (ReasonRequest | Unset): The body of every action that takes only an optional reason
            (it lands in the pointer history).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | CatalogueChange | Error
    """

    return (
        await asyncio_detailed(
            family=family,
            snapshot=snapshot,
            client=client,
            body=body,
        )
    ).parsed
