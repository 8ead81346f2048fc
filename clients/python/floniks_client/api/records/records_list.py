import datetime
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.paginated_record_summary_list import PaginatedRecordSummaryList
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    approved: bool | Unset = UNSET,
    cursor: str | Unset = UNSET,
    model: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
    q: str | Unset = UNSET,
    seed: Any | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    workflow: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["approved"] = approved

    params["cursor"] = cursor

    params["model"] = model

    params["page_size"] = page_size

    params["q"] = q

    params["seed"] = seed

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    params["workflow"] = workflow

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/records/",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | PaginatedRecordSummaryList | None:
    if response.status_code == 200:
        response_200 = PaginatedRecordSummaryList.from_dict(response.json())

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
) -> Response[Any | Error | PaginatedRecordSummaryList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    approved: bool | Unset = UNSET,
    cursor: str | Unset = UNSET,
    model: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
    q: str | Unset = UNSET,
    seed: Any | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    workflow: str | Unset = UNSET,
) -> Response[Any | Error | PaginatedRecordSummaryList]:
    """
    Args:
        approved (bool | Unset):
        cursor (str | Unset):
        model (str | Unset):
        page_size (int | Unset):
        q (str | Unset):
        seed (Any | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        workflow (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | PaginatedRecordSummaryList]
    """

    kwargs = _get_kwargs(
        approved=approved,
        cursor=cursor,
        model=model,
        page_size=page_size,
        q=q,
        seed=seed,
        since=since,
        until=until,
        workflow=workflow,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    approved: bool | Unset = UNSET,
    cursor: str | Unset = UNSET,
    model: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
    q: str | Unset = UNSET,
    seed: Any | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    workflow: str | Unset = UNSET,
) -> Any | Error | PaginatedRecordSummaryList | None:
    """
    Args:
        approved (bool | Unset):
        cursor (str | Unset):
        model (str | Unset):
        page_size (int | Unset):
        q (str | Unset):
        seed (Any | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        workflow (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | PaginatedRecordSummaryList
    """

    return sync_detailed(
        client=client,
        approved=approved,
        cursor=cursor,
        model=model,
        page_size=page_size,
        q=q,
        seed=seed,
        since=since,
        until=until,
        workflow=workflow,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    approved: bool | Unset = UNSET,
    cursor: str | Unset = UNSET,
    model: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
    q: str | Unset = UNSET,
    seed: Any | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    workflow: str | Unset = UNSET,
) -> Response[Any | Error | PaginatedRecordSummaryList]:
    """
    Args:
        approved (bool | Unset):
        cursor (str | Unset):
        model (str | Unset):
        page_size (int | Unset):
        q (str | Unset):
        seed (Any | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        workflow (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | PaginatedRecordSummaryList]
    """

    kwargs = _get_kwargs(
        approved=approved,
        cursor=cursor,
        model=model,
        page_size=page_size,
        q=q,
        seed=seed,
        since=since,
        until=until,
        workflow=workflow,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    approved: bool | Unset = UNSET,
    cursor: str | Unset = UNSET,
    model: str | Unset = UNSET,
    page_size: int | Unset = UNSET,
    q: str | Unset = UNSET,
    seed: Any | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    workflow: str | Unset = UNSET,
) -> Any | Error | PaginatedRecordSummaryList | None:
    """
    Args:
        approved (bool | Unset):
        cursor (str | Unset):
        model (str | Unset):
        page_size (int | Unset):
        q (str | Unset):
        seed (Any | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        workflow (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | PaginatedRecordSummaryList
    """

    return (
        await asyncio_detailed(
            client=client,
            approved=approved,
            cursor=cursor,
            model=model,
            page_size=page_size,
            q=q,
            seed=seed,
            since=since,
            until=until,
            workflow=workflow,
        )
    ).parsed
