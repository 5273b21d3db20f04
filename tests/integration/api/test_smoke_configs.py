"""Given a tenant, when it creates a config over REST, then GraphQL lists it (both backends)."""

from __future__ import annotations

import httpx

from tests.support.api import GraphQL, Tenant

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


async def test_guide_payload_is_created_and_listed_on_graphql(
    client: httpx.AsyncClient, gql: GraphQL, tenant: Tenant
) -> None:
    created = await client.post("/api/v1/smtp/configs", json=GUIDE_PAYLOAD, headers=tenant.headers)
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
