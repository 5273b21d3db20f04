"""The product guide's curl payload and Python client work against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.api import GraphQL, LiveServer, Tenant
from tests.support.configs import CONFIGS_URL
from tests.support.recording import ResponseLog, guard_responses

#: The body of the guide's curl example, verbatim.
GUIDE_PAYLOAD = {
    "name": "Primary SMTP",
    "host": "smtp.gmail.com",
    "port": 587,
    "username": "your-email@gmail.com",
    "password": "your-password",
    "use_tls": True,
    "from_email": "noreply@yourdomain.com",
    "is_default": True,
    "daily_limit": 1000,
}


class GuideClient:
    """The guide's `MailSageClient.add_smtp_config`, with httpx standing in for requests."""

    def __init__(self, api_key: str, base_url: str, log: ResponseLog) -> None:
        self.base_url = f"{base_url}/api/v1"
        self.headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self.http = httpx.Client()
        log.watch(self.http)

    def add_smtp_config(self, config_data: dict[str, Any]) -> Any:
        response = self.http.post(
            f"{self.base_url}/smtp/configs", headers=self.headers, json=config_data
        )
        return response.json()


@pytest.fixture(autouse=True)
def responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    yield from guard_responses(client)


async def test_guide_curl_payload_is_created_and_listed_on_graphql(
    client: httpx.AsyncClient, gql: GraphQL, tenant: Tenant
) -> None:
    created = await client.post(CONFIGS_URL, json=GUIDE_PAYLOAD, headers=tenant.headers)

    assert created.status_code == 201, created.text
    body = await gql("{ smtpConfigs { id name isDefault dailyLimit hasPassword } }", tenant=tenant)
    assert body == {
        "data": {
            "smtpConfigs": [
                {
                    "id": created.json()["id"],
                    "name": "Primary SMTP",
                    "isDefault": True,
                    "dailyLimit": 1000,
                    "hasPassword": True,
                }
            ]
        }
    }


async def test_guide_python_client_adds_a_config_over_real_http(
    live_server: LiveServer, tenant: Tenant, responses: ResponseLog
) -> None:
    guide = GuideClient(tenant.api_key, live_server.url, responses)

    try:
        result = await asyncio.to_thread(guide.add_smtp_config, GUIDE_PAYLOAD)
    finally:
        guide.http.close()

    assert result["name"] == "Primary SMTP"
    assert result["has_password"] is True
    assert result["is_default"] is True
