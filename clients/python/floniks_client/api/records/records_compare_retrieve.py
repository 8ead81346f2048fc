from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.records_compare_retrieve_response_200 import (
    RecordsCompareRetrieveResponse200,
)
from ...types import UNSET, Response


def _get_kwargs(
    *,
    a: UUID,
    b: UUID,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_a = str(a)
    params["a"] = json_a

    json_b = str(b)
    params["b"] = json_b

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/records/compare/",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | RecordsCompareRetrieveResponse200 | None:
    if response.status_code == 200:
        response_200 = RecordsCompareRetrieveResponse200.from_dict(response.json())

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
) -> Response[Any | Error | RecordsCompareRetrieveResponse200]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    a: UUID,
    b: UUID,
) -> Response[Any | Error | RecordsCompareRetrieveResponse200]:
    """Differences between two records: parameters, seeds, models and outputs.

    Args:
        a (UUID):
        b (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | RecordsCompareRetrieveResponse200]
    """

    kwargs = _get_kwargs(
        a=a,
        b=b,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    a: UUID,
    b: UUID,
) -> Any | Error | RecordsCompareRetrieveResponse200 | None:
    """Differences between two records: parameters, seeds, models and outputs.

    Args:
        a (UUID):
        b (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | RecordsCompareRetrieveResponse200
    """

    return sync_detailed(
        client=client,
        a=a,
        b=b,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    a: UUID,
    b: UUID,
) -> Response[Any | Error | RecordsCompareRetrieveResponse200]:
    """Differences between two records: parameters, seeds, models and outputs.

    Args:
        a (UUID):
        b (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | RecordsCompareRetrieveResponse200]
    """

    kwargs = _get_kwargs(
        a=a,
        b=b,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    a: UUID,
    b: UUID,
) -> Any | Error | RecordsCompareRetrieveResponse200 | None:
    """Differences between two records: parameters, seeds, models and outputs.

    Args:
        a (UUID):
        b (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | RecordsCompareRetrieveResponse200
    """

    return (
        await asyncio_detailed(
            client=client,
            a=a,
            b=b,
        )
    ).parsed
