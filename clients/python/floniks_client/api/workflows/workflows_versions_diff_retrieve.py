from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.version_diff import VersionDiff
from ...types import UNSET, Response


def _get_kwargs(
    slug: str,
    version: str,
    *,
    to: str,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["to"] = to

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/workflows/{slug}/versions/{version}/diff/".format(
            slug=quote(str(slug), safe=""),
            version=quote(str(version), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | VersionDiff | None:
    if response.status_code == 200:
        response_200 = VersionDiff.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

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
) -> Response[Any | Error | VersionDiff]:
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
    to: str,
) -> Response[Any | Error | VersionDiff]:
    """From this version to `?to=`: the changes path by path and the bump class they imply (the class
    the publish gate computes: templates_app.diff uses its classify_bump).

    Args:
        slug (str):
        version (str):
        to (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | VersionDiff]
    """

    kwargs = _get_kwargs(
        slug=slug,
        version=version,
        to=to,
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
    to: str,
) -> Any | Error | VersionDiff | None:
    """From this version to `?to=`: the changes path by path and the bump class they imply (the class
    the publish gate computes: templates_app.diff uses its classify_bump).

    Args:
        slug (str):
        version (str):
        to (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | VersionDiff
    """

    return sync_detailed(
        slug=slug,
        version=version,
        client=client,
        to=to,
    ).parsed


async def asyncio_detailed(
    slug: str,
    version: str,
    *,
    client: AuthenticatedClient,
    to: str,
) -> Response[Any | Error | VersionDiff]:
    """From this version to `?to=`: the changes path by path and the bump class they imply (the class
    the publish gate computes: templates_app.diff uses its classify_bump).

    Args:
        slug (str):
        version (str):
        to (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | VersionDiff]
    """

    kwargs = _get_kwargs(
        slug=slug,
        version=version,
        to=to,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    slug: str,
    version: str,
    *,
    client: AuthenticatedClient,
    to: str,
) -> Any | Error | VersionDiff | None:
    """From this version to `?to=`: the changes path by path and the bump class they imply (the class
    the publish gate computes: templates_app.diff uses its classify_bump).

    Args:
        slug (str):
        version (str):
        to (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | VersionDiff
    """

    return (
        await asyncio_detailed(
            slug=slug,
            version=version,
            client=client,
            to=to,
        )
    ).parsed
