from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.paginated_batch_summary_list import PaginatedBatchSummaryList
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    cursor: str | Unset = UNSET,
    mine: bool | Unset = UNSET,
    page_size: int | Unset = UNSET,
    workflow: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["mine"] = mine

    params["page_size"] = page_size

    params["workflow"] = workflow

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/batches/",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | PaginatedBatchSummaryList | None:
    if response.status_code == 200:
        response_200 = PaginatedBatchSummaryList.from_dict(response.json())

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
) -> Response[Any | Error | PaginatedBatchSummaryList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    mine: bool | Unset = UNSET,
    page_size: int | Unset = UNSET,
    workflow: str | Unset = UNSET,
) -> Response[Any | Error | PaginatedBatchSummaryList]:
    """
    Args:
        cursor (str | Unset):
        mine (bool | Unset):
        page_size (int | Unset):
        workflow (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | PaginatedBatchSummaryList]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        mine=mine,
        page_size=page_size,
        workflow=workflow,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    mine: bool | Unset = UNSET,
    page_size: int | Unset = UNSET,
    workflow: str | Unset = UNSET,
) -> Any | Error | PaginatedBatchSummaryList | None:
    """
    Args:
        cursor (str | Unset):
        mine (bool | Unset):
        page_size (int | Unset):
        workflow (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | PaginatedBatchSummaryList
    """

    return sync_detailed(
        client=client,
        cursor=cursor,
        mine=mine,
        page_size=page_size,
        workflow=workflow,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    mine: bool | Unset = UNSET,
    page_size: int | Unset = UNSET,
    workflow: str | Unset = UNSET,
) -> Response[Any | Error | PaginatedBatchSummaryList]:
    """
    Args:
        cursor (str | Unset):
        mine (bool | Unset):
        page_size (int | Unset):
        workflow (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | PaginatedBatchSummaryList]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        mine=mine,
        page_size=page_size,
        workflow=workflow,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    mine: bool | Unset = UNSET,
    page_size: int | Unset = UNSET,
    workflow: str | Unset = UNSET,
) -> Any | Error | PaginatedBatchSummaryList | None:
    """
    Args:
        cursor (str | Unset):
        mine (bool | Unset):
        page_size (int | Unset):
        workflow (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | PaginatedBatchSummaryList
    """

    return (
        await asyncio_detailed(
            client=client,
            cursor=cursor,
            mine=mine,
            page_size=page_size,
            workflow=workflow,
        )
    ).parsed
