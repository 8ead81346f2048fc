from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.evaluate_request import EvaluateRequest
from ...models.evaluation import Evaluation
from ...types import UNSET, Response, Unset


def _get_kwargs(
    slug: str,
    version: str,
    *,
    body: EvaluateRequest | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/workflows/{slug}/versions/{version}/evaluate/".format(
            slug=quote(str(slug), safe=""),
            version=quote(str(version), safe=""),
        ),
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | Evaluation | None:
    if response.status_code == 201:
        response_201 = Evaluation.from_dict(response.json())

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

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | Error | Evaluation]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    slug: str,
    version: str,
    *,
    client: AuthenticatedClient,
    body: EvaluateRequest | Unset = UNSET,
) -> Response[Any | Error | Evaluation]:
    """
    Args:
        slug (str):
        version (str):
        body (EvaluateRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | Evaluation]
    """

    kwargs = _get_kwargs(
        slug=slug,
        version=version,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    slug: str,
    version: str,
    *,
    client: AuthenticatedClient,
    body: EvaluateRequest | Unset = UNSET,
) -> Any | Error | Evaluation | None:
    """
    Args:
        slug (str):
        version (str):
        body (EvaluateRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | Evaluation
    """

    return sync_detailed(
        slug=slug,
        version=version,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    slug: str,
    version: str,
    *,
    client: AuthenticatedClient,
    body: EvaluateRequest | Unset = UNSET,
) -> Response[Any | Error | Evaluation]:
    """
    Args:
        slug (str):
        version (str):
        body (EvaluateRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | Evaluation]
    """

    kwargs = _get_kwargs(
        slug=slug,
        version=version,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    slug: str,
    version: str,
    *,
    client: AuthenticatedClient,
    body: EvaluateRequest | Unset = UNSET,
) -> Any | Error | Evaluation | None:
    """
    Args:
        slug (str):
        version (str):
        body (EvaluateRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | Evaluation
    """

    return (
        await asyncio_detailed(
            slug=slug,
            version=version,
            client=client,
            body=body,
        )
    ).parsed
