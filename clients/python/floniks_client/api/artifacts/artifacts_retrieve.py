from http import HTTPStatus
from io import BytesIO
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...types import UNSET, File, FileTypes, Response, Unset


def _get_kwargs(
    sha256: str,
    *,
    download: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["download"] = download

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/artifacts/{sha256}".format(
            sha256=quote(str(sha256), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Error | File | None:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

        return response_200

    if response.status_code == 302:
        response_302 = cast(Any, None)
        return response_302

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | Error | File]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    sha256: str,
    *,
    client: AuthenticatedClient,
    download: str | Unset = UNSET,
) -> Response[Any | Error | File]:
    """The bytes of an artifact (an output or a reference image)

     Images are served inline under their own type; anything else as an `application/octet-stream`
    attachment. With `?download=<name>`, an attachment under that file name (letters, digits, `.`, `_`
    and `-`; the stored file's extension kept). Every answer has `X-Content-Type-Options: nosniff`.

    Args:
        sha256 (str):
        download (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | File]
    """

    kwargs = _get_kwargs(
        sha256=sha256,
        download=download,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    sha256: str,
    *,
    client: AuthenticatedClient,
    download: str | Unset = UNSET,
) -> Any | Error | File | None:
    """The bytes of an artifact (an output or a reference image)

     Images are served inline under their own type; anything else as an `application/octet-stream`
    attachment. With `?download=<name>`, an attachment under that file name (letters, digits, `.`, `_`
    and `-`; the stored file's extension kept). Every answer has `X-Content-Type-Options: nosniff`.

    Args:
        sha256 (str):
        download (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | File
    """

    return sync_detailed(
        sha256=sha256,
        client=client,
        download=download,
    ).parsed


async def asyncio_detailed(
    sha256: str,
    *,
    client: AuthenticatedClient,
    download: str | Unset = UNSET,
) -> Response[Any | Error | File]:
    """The bytes of an artifact (an output or a reference image)

     Images are served inline under their own type; anything else as an `application/octet-stream`
    attachment. With `?download=<name>`, an attachment under that file name (letters, digits, `.`, `_`
    and `-`; the stored file's extension kept). Every answer has `X-Content-Type-Options: nosniff`.

    Args:
        sha256 (str):
        download (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | File]
    """

    kwargs = _get_kwargs(
        sha256=sha256,
        download=download,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    sha256: str,
    *,
    client: AuthenticatedClient,
    download: str | Unset = UNSET,
) -> Any | Error | File | None:
    """The bytes of an artifact (an output or a reference image)

     Images are served inline under their own type; anything else as an `application/octet-stream`
    attachment. With `?download=<name>`, an attachment under that file name (letters, digits, `.`, `_`
    and `-`; the stored file's extension kept). Every answer has `X-Content-Type-Options: nosniff`.

    Args:
        sha256 (str):
        download (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | File
    """

    return (
        await asyncio_detailed(
            sha256=sha256,
            client=client,
            download=download,
        )
    ).parsed
