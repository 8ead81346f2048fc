from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.model_snapshot import ModelSnapshot
from ...types import UNSET, Response


def _get_kwargs(
    family: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/models/{family}/capture/".format(
            family=quote(str(family), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | ModelSnapshot | None:
    if response.status_code == 201:
        response_201 = ModelSnapshot.from_dict(response.json())

        return response_201

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

    if response.status_code == 502:
        response_502 = Error.from_dict(response.json())

        return response_502

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | Error | ModelSnapshot]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    family: str,
    *,
    client: AuthenticatedClient,
) -> Response[Any | Error | ModelSnapshot]:
    """`comfyui/<pool>`: read the live server's environment fingerprint into a new dated snapshot
    (admin). 502 provider_unreachable when no server of the pool answers.

    Args:
        family (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | ModelSnapshot]
    """

    kwargs = _get_kwargs(
        family=family,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    family: str,
    *,
    client: AuthenticatedClient,
) -> Any | Error | ModelSnapshot | None:
    """`comfyui/<pool>`: read the live server's environment fingerprint into a new dated snapshot
    (admin). 502 provider_unreachable when no server of the pool answers.

    Args:
        family (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | ModelSnapshot
    """

    return sync_detailed(
        family=family,
        client=client,
    ).parsed


async def asyncio_detailed(
    family: str,
    *,
    client: AuthenticatedClient,
) -> Response[Any | Error | ModelSnapshot]:
    """`comfyui/<pool>`: read the live server's environment fingerprint into a new dated snapshot
    (admin). 502 provider_unreachable when no server of the pool answers.

    Args:
        family (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | ModelSnapshot]
    """

    kwargs = _get_kwargs(
        family=family,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    family: str,
    *,
    client: AuthenticatedClient,
) -> Any | Error | ModelSnapshot | None:
    """`comfyui/<pool>`: read the live server's environment fingerprint into a new dated snapshot
    (admin). 502 provider_unreachable when no server of the pool answers.

    Args:
        family (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | ModelSnapshot
    """

    return (
        await asyncio_detailed(
            family=family,
            client=client,
        )
    ).parsed
